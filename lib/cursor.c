/* cursor: placeholder until the module lands. */
#include "duo.h"

typedef int cursor_placeholder;
