// PCRE2's 8-bit library; the width must be chosen before the header is read.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
