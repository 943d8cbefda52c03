/*
 * The one place where jsmn's options are set.  Every file that includes
 * jsmn.h does so through this header, so all agree on jsmntok_t.  Only
 * lib/json.c defines JSON_IMPL and so holds jsmn's code.
 */
#ifndef DUO_JSON_H
#define DUO_JSON_H

#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#ifndef JSON_IMPL
#define JSMN_HEADER
#endif
#include <jsmn.h>

#endif /* DUO_JSON_H */
