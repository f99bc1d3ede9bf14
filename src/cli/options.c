/* The one option parser of the command line: a command's NlCliOption table
 * becomes GOption entries aimed at the command's options struct, and every
 * bad command line becomes a usage error (exit 2) worded the same way
 * whichever command it reaches. */
#include <stdio.h>
#include <string.h>

#include <nestlab/error.h>
#include "cli.h"
#include "options.h"

void
nl_cli_usage_error (GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (NL_ERROR, NL_ERROR_USAGE, format, args));
  va_end (args);
}

typedef struct {
  const NlCommand *cmd;
  gpointer opts;
} ParseState;

static const NlCliOption *
find_option (const NlCommand *cmd, const char *name)
{
  for (const NlCliOption *o = cmd->options; o && o->long_name; o++)
    if ((g_str_has_prefix (name, "--") && strcmp (name + 2, o->long_name) == 0)
        || (name[0] == '-' && name[1] == o->short_name && name[2] == '\0'))
      return o;
  return NULL;
}

/* Integers are counts and seconds: never negative. GOption's own INT would
 * take "-5" and word its errors in its own way, so nestlab parses them. */
static gboolean
parse_int (const char *name, const char *value, gpointer data, GError **error)
{
  ParseState *state = data;
  const NlCliOption *o = find_option (state->cmd, name);
  guint64 n;

  g_assert (o != NULL);
  if (!g_ascii_string_to_unsigned (value, 10, 0, G_MAXINT, &n, NULL))
    {
      nl_cli_usage_error (error, "--%s '%s': expected a whole number, 0 or more", o->long_name,
                          value);
      return FALSE;
    }
  *(gint *) ((char *) state->opts + o->offset) = (gint) n;
  return TRUE;
}

GOptionContext *
nl_cli_option_context (const NlCommand *cmd, gpointer opts, gpointer state)
{
  g_autofree char *usage = g_strdup_printf ("%s %s", cmd->name, cmd->params);
  GOptionContext *ctx = g_option_context_new (usage);
  GOptionGroup *group = g_option_group_new (NULL, NULL, NULL, state, NULL);
  g_autoptr (GArray) entries = g_array_new (TRUE, TRUE, sizeof (GOptionEntry));

  for (const NlCliOption *o = cmd->options; o && o->long_name; o++)
    {
      GOptionEntry e = { o->long_name, o->short_name, o->flags, o->arg, NULL, o->description,
                         o->arg_description };
      if (o->arg == G_OPTION_ARG_INT)
        {
          e.arg = G_OPTION_ARG_CALLBACK;
          e.arg_data = (gpointer) parse_int;
        }
      else if (opts != NULL)
        e.arg_data = (char *) opts + o->offset;
      g_array_append_val (entries, e);
    }
  g_option_group_add_entries (group, (const GOptionEntry *) (void *) entries->data);
  g_option_context_set_main_group (ctx, group);
  g_option_context_set_summary (ctx, cmd->summary);
  g_option_context_set_help_enabled (ctx, TRUE);
  g_option_context_set_strict_posix (ctx, FALSE);
  /* Unknown options are left in argv, to be reported in nestlab's words. */
  g_option_context_set_ignore_unknown_options (ctx, TRUE);
  return ctx;
}

static const char *
arg_noun (NlCliArg args)
{
  switch (args)
    {
    case NL_CLI_ARG_TEMPLATE:
      return "template FILE";
    case NL_CLI_ARG_PLAN:
      return "plan FILE";
    case NL_CLI_ARG_LAB:
      return "LAB";
    case NL_CLI_ARG_ROLLOUT:
      return "rollout ID";
    case NL_CLI_ARG_DOMAIN:
      return "DOMAIN";
    case NL_CLI_ARG_COMMAND:
      return "COMMAND";
    case NL_CLI_ARG_NONE:
    default:
      return "argument";
    }
}

static gboolean
check_count (const NlCommand *cmd, int n, char **args, GError **error)
{
  if (n >= cmd->min_args && (cmd->max_args < 0 || n <= cmd->max_args))
    return TRUE;
  if (cmd->max_args == 0)
    nl_cli_usage_error (error, "expected no arguments, not '%s'", args[0]);
  else if (cmd->min_args == 1 && cmd->max_args == 1)
    nl_cli_usage_error (error, "expected one %s", arg_noun (cmd->args));
  else if (cmd->min_args == 0 && cmd->max_args == 1)
    nl_cli_usage_error (error, "expected at most one %s", arg_noun (cmd->args));
  else if (cmd->min_args == 1 && cmd->max_args < 0)
    nl_cli_usage_error (error, "expected at least one %s", arg_noun (cmd->args));
  else
    nl_cli_usage_error (error, "expected %s", cmd->params);
  return FALSE;
}

/* Values GOption allocated (those that differ from the defaults) go to
 * CLI, which frees them at exit. */
static void
adopt_values (NlCli *cli, const NlCommand *cmd, gpointer opts, GPtrArray *before)
{
  guint i = 0;

  for (const NlCliOption *o = cmd->options; o && o->long_name; o++, i++)
    {
      gpointer now;
      if (o->arg != G_OPTION_ARG_STRING && o->arg != G_OPTION_ARG_FILENAME
          && o->arg != G_OPTION_ARG_STRING_ARRAY)
        continue;
      now = *(gpointer *) ((char *) opts + o->offset);
      if (now == NULL || now == before->pdata[i])
        continue;
      if (o->arg == G_OPTION_ARG_STRING_ARRAY)
        for (char **s = now; *s; s++)
          g_ptr_array_add (cli->owned, *s);
      g_ptr_array_add (cli->owned, now);
    }
}

gboolean
nl_cli_parse (NlCli *cli, gpointer opts, int *argc, char ***argv, GError **error)
{
  const NlCommand *cmd = cli->cmd;
  ParseState state = { cmd, opts };
  g_autoptr (GOptionContext) ctx = NULL;
  g_autoptr (GPtrArray) before = g_ptr_array_new ();
  int out = 1;
  gboolean options_end = FALSE;

  g_assert (opts != NULL || cmd->options == NULL);
  for (const NlCliOption *o = cmd->options; o && o->long_name; o++)
    g_ptr_array_add (before, o->arg == G_OPTION_ARG_NONE || o->arg == G_OPTION_ARG_INT
                     ? NULL : *(gpointer *) ((char *) opts + o->offset));
  ctx = nl_cli_option_context (cmd, opts, &state);
  if (!g_option_context_parse (ctx, argc, argv, error))
    return FALSE;
  adopt_values (cli, cmd, opts, before);

  /* What GOption left: positional arguments, unknown options, and "--"
   * after which everything is positional. */
  for (int i = 1; i < *argc; i++)
    {
      char *a = (*argv)[i];
      if (!options_end && strcmp (a, "--") == 0)
        {
          options_end = TRUE;
          continue;
        }
      if (!options_end && a[0] == '-' && a[1] != '\0')
        {
          nl_cli_usage_error (error, "unknown option '%s' (see 'nestlab help %s')", a, cmd->name);
          return FALSE;
        }
      (*argv)[out++] = a;
    }
  (*argv)[out] = NULL;
  *argc = out;
  return check_count (cmd, *argc - 1, *argv + 1, error);
}
