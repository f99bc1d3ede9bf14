/* String tables for enums, declared once and converted both ways
 * (after libvirt's VIR_ENUM_DECL / VIR_ENUM_IMPL). */
#pragma once

#include <glib.h>

/* Declares NAME_to_string (NULL when out of range) and NAME_from_string
 * (-1 when unknown). */
#define NL_ENUM_DECL(name) \
  const char *name##_to_string (int value); \
  int name##_from_string (const char *str)

/* Defines them from a table that must list exactly LAST strings. */
#define NL_ENUM_IMPL(name, last, ...) \
  static const char *const name##_table[] = { __VA_ARGS__ }; \
  G_STATIC_ASSERT (G_N_ELEMENTS (name##_table) == (last)); \
  const char *name##_to_string (int value) \
  { \
    return (value >= 0 && value < (int) (last)) ? name##_table[value] : NULL; \
  } \
  int name##_from_string (const char *str) \
  { \
    for (int i = 0; str != NULL && i < (int) (last); i++) \
      if (g_str_equal (name##_table[i], str)) \
        return i; \
    return -1; \
  }
