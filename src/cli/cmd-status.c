/* nestlab status [LAB]: every lab libvirt holds, found from ownership
 * marks; a table for people, --json for scripts, --names for the shell. */
#include <stdio.h>

#include <nestlab/error.h>
#include <nestlab/virt.h>
#include "lab-output.h"

typedef struct {
  gboolean json;
  gboolean names;
} StatusOptions;

const NlCliOption nl_status_options[] = {
  NL_CLI_FLAG (StatusOptions, json, "json", 0, "Print JSON (an array of labs)"),
  NL_CLI_FLAG (StatusOptions, names, "names", 0, "Print only the labs' names, one a line (quick)"),
  NL_CLI_OPTION_END,
};

int
nl_cmd_status (NlCli *cli, int argc, char **argv, GError **error)
{
  StatusOptions opts = { 0 };
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (GPtrArray) statuses = NULL;
  const char *lab;

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  lab = argc == 2 ? argv[1] : NULL;
  if (opts.names && (opts.json || lab != NULL))
    {
      nl_cli_usage_error (error, "--names lists every lab: give it neither LAB nor --json");
      return -1;
    }
  conn = nl_cli_lab_connect (cli, error);
  if (conn == NULL)
    return -1;
  if (opts.names)
    {
      g_autoptr (GPtrArray) names = nl_lab_names (conn, error);
      if (names == NULL)
        return -1;
      for (guint i = 0; i < names->len; i++)
        printf ("%s\n", (char *) names->pdata[i]);
      return 0;
    }
  statuses = nl_lab_status (conn, lab, error);
  if (statuses == NULL)
    return -1;
  if (opts.json)
    {
      g_autofree char *text = nl_lab_status_to_json (statuses);
      fputs (text, stdout);
    }
  else
    nl_cli_print_status (statuses);
  if (lab != NULL && statuses->len == 0)
    {
      nl_cli_no_lab_error (error, lab);
      return -1;
    }
  return 0;
}
