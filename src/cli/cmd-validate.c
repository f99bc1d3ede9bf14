/* nestlab validate FILE...: load each template and report every problem. */
#include <stdio.h>

#include <nestlab/error.h>
#include <nestlab/template.h>
#include "cli.h"

typedef struct {
  char **sets;
  gboolean quiet;
} ValidateOptions;

const NlCliOption nl_validate_options[] = {
  NL_CLI_STRINGS (ValidateOptions, sets, "set", 0, "Set a template parameter", "NAME=VALUE"),
  NL_CLI_FLAG (ValidateOptions, quiet, "quiet", 'q', "Print nothing for valid templates"),
  NL_CLI_OPTION_END,
};

int
nl_cmd_validate (NlCli *cli, int argc, char **argv, GError **error)
{
  ValidateOptions opts = { 0 };
  g_autoptr (GHashTable) overrides = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  int invalid = 0;

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  for (char **s = opts.sets; s && *s; s++)
    if (!nl_template_parse_override (overrides, *s, error))
      return -1;

  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GError) local = NULL;
      g_autoptr (NlLab) lab = nl_template_load (argv[i], overrides, &local);
      if (lab == NULL)
        {
          fprintf (stderr, "%s\n", local->message);
          invalid++;
          continue;
        }
      if (!opts.quiet)
        printf ("%s: valid: lab '%s', %u machine%s, %u network%s, %u start wave%s\n", argv[i],
                lab->name, lab->machines->len, lab->machines->len == 1 ? "" : "s",
                lab->networks->len, lab->networks->len == 1 ? "" : "s",
                lab->n_waves, lab->n_waves == 1 ? "" : "s");
    }
  if (invalid > 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%d of %d templates are invalid", invalid, argc - 1);
      return -1;
    }
  return 0;
}
