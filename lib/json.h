/*
 * The one place where jsmn's options are set.  Every file that includes
 * jsmn.h does so through this header, so all agree on jsmntok_t.  jsmn.h
 * is included for its token type only: lib/json.c tokenizes with its own
 * validating scanner (see the comment there).
 */
#ifndef DUO_JSON_H
#define DUO_JSON_H

#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#define JSMN_HEADER
#include <jsmn.h>

#endif /* DUO_JSON_H */
