/* Shared helpers for nestlab's Check suites: a main() that writes TAP for
 * meson, and golden-file comparison (NESTLAB_REGENERATE=1 rewrites). */
#pragma once

#include <check.h>
#include <glib.h>

/* Absolute path of a file under tests/data (newly allocated). */
char *nl_test_data_path (const char *relative);

/* Compares ACTUAL with the golden file tests/data/RELATIVE. On mismatch,
 * prints a unified diff to stderr and returns FALSE; with NESTLAB_REGENERATE=1
 * rewrites the file instead and returns TRUE. */
gboolean nl_test_golden (const char *relative, const char *actual);

/* Runs SUITE with TAP output on stdout; the exit status is 0 when all passed. */
int nl_test_run (Suite *suite);

#define NL_TEST_MAIN(make_suite) \
  int main (void) { return nl_test_run (make_suite ()); }
