/* The lab mark: nestlab's <nestlab:lab> element in the metadata of every
 * domain and network a lab (or a rollout replica) owns. It names the lab,
 * says what the object is in it, lists the volumes the object owns and
 * carries the machine's checkpoint records. One parser, one formatter;
 * everything else edits the structure. */
#include <string.h>

#include <libxml/parser.h>

#include "doc-private.h"

#define NS NL_DOC_LAB_NS

void
nl_owned_volume_free (NlOwnedVolume *vol)
{
  if (vol == NULL)
    return;
  g_free (vol->pool);
  g_free (vol->name);
  g_free (vol);
}

NlOwnership *
nl_ownership_new (const char *lab)
{
  NlOwnership *own = g_new0 (NlOwnership, 1);
  own->lab = g_strdup (lab);
  own->volumes = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_owned_volume_free);
  own->checkpoints = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_checkpoint_record_free);
  own->steps = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_step_record_free);
  own->extra = g_ptr_array_new_with_free_func (g_free);
  return own;
}

void
nl_ownership_free (NlOwnership *own)
{
  if (own == NULL)
    return;
  g_free (own->lab);
  g_free (own->digest);
  g_free (own->config);
  g_free (own->network);
  g_free (own->machine);
  g_free (own->role);
  g_free (own->os);
  g_free (own->media);
  g_clear_pointer (&own->volumes, g_ptr_array_unref);
  g_strfreev (own->after);
  g_clear_pointer (&own->checkpoints, g_ptr_array_unref);
  g_clear_pointer (&own->steps, g_ptr_array_unref);
  g_clear_pointer (&own->extra, g_ptr_array_unref);
  g_free (own);
}

NlOwnership *
nl_ownership_copy (const NlOwnership *own)
{
  NlOwnership *c = nl_ownership_new (own->lab);
  c->digest = g_strdup (own->digest);
  c->config = g_strdup (own->config);
  c->network = g_strdup (own->network);
  c->machine = g_strdup (own->machine);
  c->role = g_strdup (own->role);
  c->nested = own->nested;
  c->wave = own->wave;
  c->os = g_strdup (own->os);
  c->media = g_strdup (own->media);
  for (guint i = 0; i < own->volumes->len; i++)
    {
      NlOwnedVolume *v = own->volumes->pdata[i];
      nl_ownership_add_volume (c, v->pool, v->name, v->shared);
    }
  c->after = g_strdupv (own->after);
  for (guint i = 0; i < own->checkpoints->len; i++)
    g_ptr_array_add (c->checkpoints, nl_checkpoint_record_copy (own->checkpoints->pdata[i]));
  for (guint i = 0; i < own->steps->len; i++)
    g_ptr_array_add (c->steps, nl_step_record_copy (own->steps->pdata[i]));
  for (guint i = 0; i < own->extra->len; i++)
    g_ptr_array_add (c->extra, g_strdup (own->extra->pdata[i]));
  return c;
}

/* An element of our namespace. libvirt's metadata API hands the mark back
 * without its namespace on some drivers, so inside a mark none counts as
 * ours too. */
static gboolean
is_ours (xmlNodePtr node, const char *local)
{
  return nl_xml_is (node, local)
         && (node->ns == NULL || (node->ns->href != NULL && strcmp ((const char *) node->ns->href, NS) == 0));
}

/* An unknown child as a standalone element, its namespace declared. */
static char *
extra_text (xmlNodePtr node)
{
  g_autoptr (xmlDoc) doc = xmlNewDoc ((const xmlChar *) "1.0");
  xmlNodePtr copy = xmlDocCopyNode (node, doc, 1);

  xmlDocSetRootElement (doc, copy);
  xmlReconciliateNs (doc, copy);
  return nl_xml_node_to_string (copy, FALSE);
}

static NlOwnership *
from_node (xmlNodePtr root)
{
  NlOwnership *own = nl_ownership_new (NULL);
  g_autofree char *nested = nl_xml_prop (root, "nested");
  g_autofree char *wave = nl_xml_prop (root, "wave");
  g_autoptr (GPtrArray) after = g_ptr_array_new_with_free_func (g_free);

  own->lab = nl_xml_prop (root, "name");
  own->digest = nl_xml_prop (root, "digest");
  own->config = nl_xml_prop (root, "config");
  own->network = nl_xml_prop (root, "network");
  own->machine = nl_xml_prop (root, "machine");
  own->role = nl_xml_prop (root, "role");
  own->os = nl_xml_prop (root, "os");
  own->media = nl_xml_prop (root, "media");
  own->nested = g_strcmp0 (nested, "yes") == 0;
  own->wave = wave ? (guint) g_ascii_strtoull (wave, NULL, 10) : 0;
  for (xmlNodePtr c = root->children; c; c = c->next)
    {
      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (is_ours (c, "volume") || is_ours (c, "shared-volume"))
        {
          g_autofree char *pool = nl_xml_prop (c, "pool");
          g_autofree char *name = nl_xml_prop (c, "name");
          if (pool && name)
            nl_ownership_add_volume (own, pool, name, is_ours (c, "shared-volume"));
        }
      else if (is_ours (c, "after"))
        {
          char *name = nl_xml_prop (c, "name");
          if (name)
            g_ptr_array_add (after, name);
        }
      else if (is_ours (c, "checkpoint"))
        {
          NlCheckpointRecord *r = nl_doc_record_from_node (c);
          if (r)
            g_ptr_array_add (own->checkpoints, r);
        }
      else if (is_ours (c, "step"))
        {
          NlStepRecord *r = nl_doc_step_from_node (c);
          if (r)
            g_ptr_array_add (own->steps, r);
        }
      else
        g_ptr_array_add (own->extra, extra_text (c));
    }
  if (after->len > 0)
    {
      g_ptr_array_add (after, NULL);
      own->after = (char **) g_ptr_array_steal (after, NULL);
    }
  return own;
}

xmlNodePtr
nl_ownership_find (xmlNodePtr root)
{
  return nl_xml_metadata_find (root, NS, "lab");
}

NlOwnership *
nl_ownership_read (xmlNodePtr root)
{
  xmlNodePtr found = is_ours (root, "lab") ? root : nl_ownership_find (root);
  return found ? from_node (found) : NULL;
}

gboolean
nl_ownership_parse (const char *xml, NlOwnership **out, GError **error)
{
  g_autoptr (xmlDoc) doc = NULL;

  *out = NULL;
  doc = nl_xml_parse (xml, error);
  if (doc == NULL)
    return FALSE;
  *out = nl_ownership_read (xmlDocGetRootElement (doc));
  return TRUE;
}

static xmlNodePtr
add_child (xmlNodePtr mark, const char *name)
{
  return xmlNewChild (mark, mark->ns, (const xmlChar *) name, NULL);
}

/* NODE and its descendants without a namespace, or in ours, into NS. */
static void
into_namespace (xmlNodePtr node, xmlNsPtr ns)
{
  if (node->type != XML_ELEMENT_NODE || !is_ours (node, (const char *) node->name))
    return;
  xmlSetNs (node, ns);
  for (xmlNodePtr c = node->children; c; c = c->next)
    into_namespace (c, ns);
}

/* Copies an unknown child back in, into the mark's namespace when it was
 * in ours. */
static void
append_extra (xmlNodePtr mark, const char *text)
{
  g_autoptr (xmlDoc) doc = xmlReadMemory (text, strlen (text), "extra.xml", NULL,
                                          XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  xmlNodePtr root = doc ? xmlDocGetRootElement (doc) : NULL;
  xmlNodePtr copy;

  if (root == NULL)
    return;
  copy = xmlDocCopyNode (root, mark->doc, 1);
  xmlAddChild (mark, copy);
  if (root->ns == NULL || is_ours (root, (const char *) root->name))
    {
      into_namespace (copy, mark->ns);
      /* Its own declaration of our namespace is the mark's now. */
      for (xmlNsPtr *p = &copy->nsDef; *p;)
        if ((*p)->href && strcmp ((const char *) (*p)->href, NS) == 0)
          {
            xmlNsPtr dead = *p;
            *p = dead->next;
            dead->next = NULL;
            xmlFreeNsList (dead);
          }
        else
          p = &(*p)->next;
    }
  xmlReconciliateNs (mark->doc, copy);
}

/* The mark element as a child of PARENT, in our namespace when
 * NAMESPACED. */
static xmlNodePtr
build (const NlOwnership *own, xmlNodePtr parent, gboolean namespaced)
{
  xmlNodePtr mark = xmlNewChild (parent, NULL, (const xmlChar *) "lab", NULL);
  if (namespaced)
    xmlSetNs (mark, xmlNewNs (mark, (const xmlChar *) NS, (const xmlChar *) NL_DOC_LAB_PREFIX));

  /* Attribute order is part of the text a config digest is taken over. */
  nl_xml_set_prop (mark, "name", own->lab);
  nl_xml_set_prop (mark, "digest", own->digest);
  nl_xml_set_prop (mark, "config", own->config);
  nl_xml_set_prop (mark, "network", own->network);
  nl_xml_set_prop (mark, "machine", own->machine);
  nl_xml_set_prop (mark, "role", own->role);
  if (own->machine != NULL)
    {
      g_autofree char *wave = g_strdup_printf ("%u", own->wave);
      nl_xml_set_prop (mark, "nested", own->nested ? "yes" : "no");
      nl_xml_set_prop (mark, "wave", wave);
    }
  nl_xml_set_prop (mark, "os", own->os);
  nl_xml_set_prop (mark, "media", own->media);
  for (guint i = 0; i < own->volumes->len; i++)
    {
      NlOwnedVolume *v = own->volumes->pdata[i];
      xmlNodePtr node = add_child (mark, v->shared ? "shared-volume" : "volume");
      nl_xml_set_prop (node, "pool", v->pool);
      nl_xml_set_prop (node, "name", v->name);
    }
  for (guint i = 0; own->after && own->after[i]; i++)
    nl_xml_set_prop (add_child (mark, "after"), "name", own->after[i]);
  for (guint i = 0; i < own->checkpoints->len; i++)
    nl_doc_record_to_node (own->checkpoints->pdata[i], add_child (mark, "checkpoint"));
  for (guint i = 0; i < own->steps->len; i++)
    nl_doc_step_to_node (own->steps->pdata[i], add_child (mark, "step"));
  for (guint i = 0; i < own->extra->len; i++)
    append_extra (mark, own->extra->pdata[i]);
  return mark;
}

xmlNodePtr
nl_ownership_append (const NlOwnership *own, xmlNodePtr parent)
{
  return build (own, parent, TRUE);
}

char *
nl_ownership_format (const NlOwnership *own)
{
  g_autoptr (xmlDoc) doc = xmlNewDoc ((const xmlChar *) "1.0");
  xmlNodePtr holder = xmlNewNode (NULL, (const xmlChar *) "metadata");
  xmlNodePtr mark;

  xmlDocSetRootElement (doc, holder);
  mark = build (own, holder, FALSE);
  return nl_xml_node_to_string (mark, FALSE);
}

void
nl_ownership_put (xmlNodePtr root, const NlOwnership *own)
{
  xmlNodePtr metadata = nl_xml_child (root, "metadata");
  xmlNodePtr old;

  if (metadata == NULL)
    metadata = xmlNewChild (root, NULL, (const xmlChar *) "metadata", NULL);
  while ((old = nl_ownership_find (root)) != NULL)
    {
      xmlUnlinkNode (old);
      xmlFreeNode (old);
    }
  nl_ownership_append (own, metadata);
}

gboolean
nl_ownership_is_lab (const NlOwnership *own, const char *lab)
{
  return own != NULL && own->lab != NULL && (lab == NULL || strcmp (own->lab, lab) == 0);
}

gboolean
nl_ownership_lists_volume (const NlOwnership *own, const char *pool, const char *name)
{
  for (guint i = 0; own && i < own->volumes->len; i++)
    {
      NlOwnedVolume *v = own->volumes->pdata[i];
      if (strcmp (v->name, name) == 0 && (pool == NULL || strcmp (v->pool, pool) == 0))
        return TRUE;
    }
  return FALSE;
}

void
nl_ownership_add_volume (NlOwnership *own, const char *pool, const char *name, gboolean shared)
{
  NlOwnedVolume *v;

  if (nl_ownership_lists_volume (own, pool, name))
    return;
  v = g_new0 (NlOwnedVolume, 1);
  v->pool = g_strdup (pool);
  v->name = g_strdup (name);
  v->shared = shared;
  g_ptr_array_add (own->volumes, v);
}

void
nl_ownership_add_files (NlOwnership *own, const char *pool, GPtrArray *files)
{
  for (guint i = 0; files && i < files->len; i++)
    {
      g_autofree char *base = g_path_get_basename (files->pdata[i]);
      nl_ownership_add_volume (own, pool, base, FALSE);
    }
}

const NlCheckpointRecord *
nl_ownership_find_checkpoint (const NlOwnership *own, const char *name)
{
  for (guint i = 0; own && i < own->checkpoints->len; i++)
    {
      NlCheckpointRecord *r = own->checkpoints->pdata[i];
      if (strcmp (r->name, name) == 0)
        return r;
    }
  return NULL;
}

gboolean
nl_ownership_drop_checkpoint (NlOwnership *own, const char *name)
{
  for (guint i = 0; i < own->checkpoints->len; i++)
    if (strcmp (((NlCheckpointRecord *) own->checkpoints->pdata[i])->name, name) == 0)
      {
        g_ptr_array_remove_index (own->checkpoints, i);
        return TRUE;
      }
  return FALSE;
}

void
nl_ownership_put_checkpoint (NlOwnership *own, const NlCheckpointRecord *rec)
{
  nl_ownership_drop_checkpoint (own, rec->name);
  g_ptr_array_add (own->checkpoints, nl_checkpoint_record_copy (rec));
}

NlStepRecord *
nl_ownership_find_step (const NlOwnership *own, const char *name)
{
  for (guint i = 0; own && i < own->steps->len; i++)
    if (strcmp (((NlStepRecord *) own->steps->pdata[i])->name, name) == 0)
      return own->steps->pdata[i];
  return NULL;
}

void
nl_ownership_put_step (NlOwnership *own, const NlStepRecord *rec)
{
  for (guint i = 0; i < own->steps->len; i++)
    if (strcmp (((NlStepRecord *) own->steps->pdata[i])->name, rec->name) == 0)
      {
        nl_step_record_free (own->steps->pdata[i]);
        own->steps->pdata[i] = nl_step_record_copy (rec);
        return;
      }
  g_ptr_array_add (own->steps, nl_step_record_copy (rec));
}

void
nl_ownership_clear_steps (NlOwnership *own)
{
  g_ptr_array_set_size (own->steps, 0);
}
