/* json: placeholder until the module lands. */
#define JSON_IMPL
#include "duo.h"

typedef int json_placeholder;
