/* nestlab status [LAB]: every lab libvirt holds, found from ownership
 * marks; a table for people, --json for scripts. */
#include <stdio.h>

#include <nestlab/error.h>
#include <nestlab/virt.h>
#include "lab-output.h"

int
nl_cmd_status (NlCli *cli, int argc, char **argv, GError **error)
{
  static gboolean json;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON (an array of labs)", NULL },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (GPtrArray) statuses = NULL;
  const char *lab;

  if (!nl_cli_parse_options (nl_cli_command ("status"), entries, &argc, &argv, error))
    return -1;
  if (argc > 2)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE, "expected at most one LAB");
      return -1;
    }
  lab = argc == 2 ? argv[1] : NULL;
  conn = nl_cli_lab_connect (cli, error);
  if (conn == NULL)
    return -1;
  statuses = nl_lab_status (conn, lab, error);
  if (statuses == NULL)
    return -1;
  if (json)
    {
      g_autofree char *text = nl_lab_status_to_json (statuses);
      fputs (text, stdout);
    }
  else
    nl_cli_print_status (statuses);
  if (lab != NULL && statuses->len == 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND, "no lab '%s' here: no domain or network carries its mark", lab);
      return -1;
    }
  return 0;
}
