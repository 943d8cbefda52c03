/* http: placeholder until the module lands. */
#include "duo.h"

typedef int http_placeholder;
