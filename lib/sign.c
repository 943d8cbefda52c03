/* sign: placeholder until the module lands. */
#include "duo.h"

typedef int sign_placeholder;
