/* fmt: placeholder until the module lands. */
#include "duo.h"

typedef int fmt_placeholder;
