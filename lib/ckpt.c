/* ckpt: placeholder until the module lands. */
#include "duo.h"

typedef int ckpt_placeholder;
