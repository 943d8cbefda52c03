/* conf: placeholder until the module lands. */
#include "duo.h"

typedef int conf_placeholder;
