print("cosocket")
