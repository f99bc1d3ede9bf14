/* Checkpoint records (one machine's part of a lab checkpoint, kept in its
 * lab mark) and rollout restore points (the same fields under their own
 * element and namespace). */
#include <string.h>

#include "doc-private.h"

NL_ENUM_IMPL (nl_checkpoint_mode, NL_CHECKPOINT_LAST, "internal", "external")
NL_ENUM_IMPL (nl_step_state, NL_STEP_STATE_LAST, "running", "done", "failed")

void
nl_checkpoint_record_free (NlCheckpointRecord *rec)
{
  if (rec == NULL)
    return;
  g_free (rec->name);
  g_free (rec->created);
  g_free (rec->nvram_copy);
  g_free (rec->tpm_copy);
  g_free (rec->memory);
  g_strfreev (rec->targets);
  g_strfreev (rec->disks);
  g_strfreev (rec->bases);
  g_free (rec);
}

NlCheckpointRecord *
nl_checkpoint_record_copy (const NlCheckpointRecord *rec)
{
  NlCheckpointRecord *r = g_new0 (NlCheckpointRecord, 1);
  r->name = g_strdup (rec->name);
  r->mode = rec->mode;
  r->created = g_strdup (rec->created);
  r->running = rec->running;
  r->targets = g_strdupv (rec->targets);
  r->disks = g_strdupv (rec->disks);
  r->bases = g_strdupv (rec->bases);
  r->nvram_copy = g_strdup (rec->nvram_copy);
  r->tpm_copy = g_strdup (rec->tpm_copy);
  r->memory = g_strdup (rec->memory);
  return r;
}

static char **
steal_strv (GPtrArray *array)
{
  g_ptr_array_add (array, NULL);
  return (char **) g_ptr_array_steal (array, NULL);
}

NlCheckpointRecord *
nl_doc_record_from_node (xmlNodePtr c)
{
  g_autoptr (NlCheckpointRecord) r = g_new0 (NlCheckpointRecord, 1);
  g_autofree char *running = nl_xml_prop (c, "running");
  g_autofree char *mode = nl_xml_prop (c, "mode");
  /* One <disk target= overlay= base=/> per disk: paths may hold spaces. */
  g_autoptr (GPtrArray) targets = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) disks = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) bases = g_ptr_array_new_with_free_func (g_free);

  r->name = nl_xml_prop (c, "name");
  if (r->name == NULL || nl_checkpoint_mode_from_string (mode) < 0)
    return NULL;
  r->mode = nl_checkpoint_mode_from_string (mode);
  r->created = nl_xml_prop (c, "created");
  r->nvram_copy = nl_xml_prop (c, "nvram");
  r->tpm_copy = nl_xml_prop (c, "tpm");
  r->memory = nl_xml_prop (c, "memory");
  r->running = g_strcmp0 (running, "yes") == 0;
  for (xmlNodePtr d = c->children; d; d = d->next)
    if (nl_xml_is (d, "disk"))
      {
        char *t = nl_xml_prop (d, "target"), *o = nl_xml_prop (d, "overlay"), *b = nl_xml_prop (d, "base");
        if (t && o && b)
          {
            g_ptr_array_add (targets, t);
            g_ptr_array_add (disks, o);
            g_ptr_array_add (bases, b);
            continue;
          }
        g_free (t);
        g_free (o);
        g_free (b);
      }
  r->targets = steal_strv (targets);
  r->disks = steal_strv (disks);
  r->bases = steal_strv (bases);
  return g_steal_pointer (&r);
}

void
nl_doc_record_to_node (const NlCheckpointRecord *rec, xmlNodePtr c)
{
  nl_xml_set_prop (c, "name", rec->name);
  nl_xml_set_prop (c, "mode", nl_checkpoint_mode_to_string (rec->mode));
  nl_xml_set_prop (c, "created", rec->created);
  nl_xml_set_prop (c, "running", rec->running ? "yes" : "no");
  nl_xml_set_prop (c, "nvram", rec->nvram_copy);
  nl_xml_set_prop (c, "tpm", rec->tpm_copy);
  nl_xml_set_prop (c, "memory", rec->memory);
  for (guint i = 0; rec->targets && rec->disks && rec->bases && rec->targets[i] && rec->disks[i]
                    && rec->bases[i]; i++)
    {
      xmlNodePtr d = xmlNewChild (c, c->ns, (const xmlChar *) "disk", NULL);
      nl_xml_set_prop (d, "target", rec->targets[i]);
      nl_xml_set_prop (d, "overlay", rec->disks[i]);
      nl_xml_set_prop (d, "base", rec->bases[i]);
    }
}

char *
nl_restore_point_format (const NlCheckpointRecord *rec)
{
  g_autoptr (xmlDoc) doc = xmlNewDoc ((const xmlChar *) "1.0");
  xmlNodePtr root = xmlNewNode (NULL, (const xmlChar *) "restore-point");

  xmlDocSetRootElement (doc, root);
  nl_doc_record_to_node (rec, root);
  return nl_xml_node_to_string (root, FALSE);
}

NlCheckpointRecord *
nl_restore_point_parse (const char *xml)
{
  g_autoptr (xmlDoc) doc = xml ? nl_xml_parse (xml, NULL) : NULL;
  return doc ? nl_doc_record_from_node (xmlDocGetRootElement (doc)) : NULL;
}

void
nl_step_record_free (NlStepRecord *rec)
{
  if (rec == NULL)
    return;
  g_free (rec->name);
  g_free (rec->digest);
  g_free (rec->started);
  g_free (rec->finished);
  g_free (rec->tail);
  g_free (rec);
}

NlStepRecord *
nl_step_record_copy (const NlStepRecord *rec)
{
  NlStepRecord *r = g_new0 (NlStepRecord, 1);
  *r = *rec;
  r->name = g_strdup (rec->name);
  r->digest = g_strdup (rec->digest);
  r->started = g_strdup (rec->started);
  r->finished = g_strdup (rec->finished);
  r->tail = g_strdup (rec->tail);
  return r;
}

NlStepRecord *
nl_doc_step_from_node (xmlNodePtr c)
{
  g_autoptr (NlStepRecord) r = g_new0 (NlStepRecord, 1);
  g_autofree char *state = nl_xml_prop (c, "state");
  g_autofree char *exit_code = nl_xml_prop (c, "exit");
  g_autofree char *attempts = nl_xml_prop (c, "attempts");
  int st = nl_step_state_from_string (state);
  xmlNodePtr tail = nl_xml_child (c, "tail");

  r->name = nl_xml_prop (c, "name");
  if (r->name == NULL || st < 0)
    return NULL;
  r->state = st;
  r->digest = nl_xml_prop (c, "digest");
  r->started = nl_xml_prop (c, "started");
  r->finished = nl_xml_prop (c, "finished");
  r->exit_code = exit_code ? (int) g_ascii_strtoll (exit_code, NULL, 10) : -1;
  r->attempts = attempts ? (guint) g_ascii_strtoull (attempts, NULL, 10) : 0;
  if (tail != NULL)
    {
      xmlChar *t = xmlNodeGetContent (tail);
      r->tail = g_strdup ((const char *) t);
      xmlFree (t);
    }
  return g_steal_pointer (&r);
}

void
nl_doc_step_to_node (const NlStepRecord *rec, xmlNodePtr c)
{
  g_autofree char *exit_code = rec->exit_code >= 0 ? g_strdup_printf ("%d", rec->exit_code) : NULL;
  g_autofree char *attempts = g_strdup_printf ("%u", rec->attempts);

  nl_xml_set_prop (c, "name", rec->name);
  nl_xml_set_prop (c, "state", nl_step_state_to_string (rec->state));
  nl_xml_set_prop (c, "digest", rec->digest);
  nl_xml_set_prop (c, "started", rec->started);
  nl_xml_set_prop (c, "finished", rec->finished);
  nl_xml_set_prop (c, "exit", exit_code);
  nl_xml_set_prop (c, "attempts", attempts);
  if (rec->tail != NULL)
    xmlNewTextChild (c, c->ns, (const xmlChar *) "tail", (const xmlChar *) rec->tail);
}
