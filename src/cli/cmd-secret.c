/* nestlab secret show LAB NAME: print a secret nestlab generated for a lab
 * and keeps in its state folder (so the administrator password of a lab
 * built from generated secrets can be looked up). The value goes to stdout
 * and nowhere else. */
#include <stdio.h>

#include <nestlab/error.h>
#include <nestlab/secret.h>
#include "cli.h"

int
nl_cmd_secret_show (NlCli *cli, int argc, char **argv, GError **error)
{
  char *value;

  if (!nl_cli_parse (cli, NULL, &argc, &argv, error))
    return -1;
  value = nl_secret_load_stored (NULL, argv[1], argv[2], error);
  if (value == NULL)
    return -1;
  printf ("%s\n", value);
  fflush (stdout);
  nl_secret_value_free (value);
  return 0;
}
