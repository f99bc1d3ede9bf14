/* libFuzzer harness for the template loader: each input is written to a
 * file and loaded as a lab template. Built with -Dfuzzing=true and clang;
 * replay.c runs the committed corpus through the same entry point as an
 * ordinary test. */
#include <stdint.h>

#include <glib.h>
#include <nestlab/template.h>

#include "fuzz-input.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = nl_fuzz_input_file (data, size);
  g_autoptr (GError) error = NULL;
  NlLab *lab;

  if (path == NULL)
    return 0;
  lab = nl_template_load (path, NULL, &error);
  /* Either a lab or an error with a message, never both or neither; the
   * message names a file. */
  if ((lab == NULL) == (error == NULL) || (error != NULL && error->message[0] == '\0')
      || (error != NULL && g_str_has_prefix (error->message, "?:")))
    __builtin_trap ();
  nl_lab_free (lab);
  return 0;
}
