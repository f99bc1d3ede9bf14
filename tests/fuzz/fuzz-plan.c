/* libFuzzer harness for the rollout plan loader: each input is written to
 * a file and loaded as a rollout plan. Built with -Dfuzzing=true and clang;
 * replay.c runs the committed corpus through the same entry point as an
 * ordinary test. */
#include <stdint.h>

#include <glib.h>
#include <nestlab/rollout.h>

#include "fuzz-input.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = nl_fuzz_input_file (data, size);
  g_autoptr (GError) error = NULL;
  NlRolloutPlan *plan;

  if (path == NULL)
    return 0;
  plan = nl_rollout_plan_load (path, &error);
  /* Either a plan or an error with a message, never both or neither; the
   * message starts with the file's name. */
  if ((plan == NULL) == (error == NULL) || (error != NULL && error->message[0] == '\0')
      || (error != NULL && !g_str_has_prefix (error->message, path)))
    __builtin_trap ();
  nl_rollout_plan_free (plan);
  return 0;
}
