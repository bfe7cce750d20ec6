// The server: see issue 5.
