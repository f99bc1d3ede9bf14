/* nestlab _complete: what the shell completion script
 * (scripts/completion/nestlab.bash) asks, read from the command table so the
 * two cannot drift apart. Hidden: not in help, and its output is for the
 * script only.
 *
 *   _complete commands           every command, one a line ("host check")
 *   _complete command WORD...    the grammar of one command: a line
 *                                "args KIND MAX" (what its positional
 *                                arguments are), then a line
 *                                "option --LONG -S VALUE" per option
 *
 * KIND is none, template, plan, lab, rollout, domain or command; it is
 * the first argument's (every argument's when MAX is -1). VALUE is "-"
 * for a flag, file, dir, words joined by "|", or text. Lab names and
 * rollout ids come from `status --names` and `rollout status --ids`. */
#include <stdio.h>
#include <string.h>

#include <nestlab/error.h>
#include "cli.h"
#include "options.h"

static const char *
kind_name (NlCliArg args)
{
  static const char *const names[] = {
    [NL_CLI_ARG_NONE] = "none",       [NL_CLI_ARG_TEMPLATE] = "template",
    [NL_CLI_ARG_PLAN] = "plan",       [NL_CLI_ARG_LAB] = "lab",
    [NL_CLI_ARG_ROLLOUT] = "rollout", [NL_CLI_ARG_DOMAIN] = "domain",
    [NL_CLI_ARG_COMMAND] = "command",
  };
  return names[args];
}

static const char *
value_kind (const NlCliOption *o)
{
  if (o->arg == G_OPTION_ARG_NONE)
    return "-";
  if (o->arg_description == NULL)
    return "text";
  if (strcmp (o->arg_description, "FILE") == 0)
    return "file";
  if (strcmp (o->arg_description, "DIR") == 0)
    return "dir";
  if (strchr (o->arg_description, '|') != NULL)
    return o->arg_description;
  return "text";
}

int
nl_cmd_complete (NlCli *cli, int argc, char **argv, GError **error)
{
  const NlCommand *cmd;
  int words = 0;

  if (!nl_cli_parse (cli, NULL, &argc, &argv, error))
    return -1;
  if (strcmp (argv[1], "commands") == 0 && argc == 2)
    {
      for (const NlCommand *c = nl_commands; c->name; c++)
        if (c->name[0] != '_')
          printf ("%s\n", c->name);
      return 0;
    }
  if (strcmp (argv[1], "command") != 0 || argc < 3)
    {
      nl_cli_usage_error (error, "expected 'commands' or 'command WORD...'");
      return -1;
    }
  cmd = nl_cli_find_command (argc - 2, argv + 2, &words);
  if (cmd == NULL || cmd->name[0] == '_' || words != argc - 2)
    {
      g_autofree char *name = g_strjoinv (" ", argv + 2);
      nl_cli_usage_error (error, "unknown command '%s' (see 'nestlab help')", name);
      return -1;
    }
  printf ("args %s %d\n", kind_name (cmd->args), cmd->max_args);
  for (const NlCliOption *o = cmd->options; o && o->long_name; o++)
    if (!(o->flags & G_OPTION_FLAG_HIDDEN))
      {
        char s[3] = { '-', o->short_name, '\0' };
        printf ("option --%s %s %s\n", o->long_name, o->short_name ? s : "-", value_kind (o));
      }
  return 0;
}
