/* Ownership marks: nestlab's <nestlab:lab> metadata element on domains and
 * networks, read back from libvirt and rewritten (checkpoint records, extra
 * volumes) without losing what other modules stored in it. */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <nestlab/error.h>
#include <nestlab/virt.h>

#define NS NL_VIRT_METADATA_NS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, xmlFreeDoc)

void
nl_owned_volume_free (NlOwnedVolume *vol)
{
  if (vol == NULL)
    return;
  g_free (vol->pool);
  g_free (vol->name);
  g_free (vol);
}

void
nl_ownership_free (NlOwnership *own)
{
  if (own == NULL)
    return;
  g_free (own->lab);
  g_free (own->digest);
  g_free (own->config);
  g_free (own->machine);
  g_free (own->role);
  g_clear_pointer (&own->volumes, g_ptr_array_unref);
  g_clear_pointer (&own->checkpoints, g_ptr_array_unref);
  g_free (own->xml);
  g_free (own);
}

void
nl_checkpoint_record_free (NlCheckpointRecord *rec)
{
  if (rec == NULL)
    return;
  g_free (rec->name);
  g_free (rec->mode);
  g_free (rec->created);
  g_free (rec->nvram_copy);
  g_free (rec->tpm_copy);
  g_free (rec->memory);
  g_strfreev (rec->targets);
  g_strfreev (rec->disks);
  g_strfreev (rec->bases);
  g_free (rec);
}

/* An element of our namespace; virDomainGetMetadata hands the element back
 * without its namespace, so inside a mark no namespace counts as ours. */
static gboolean
is_ours (xmlNodePtr node, const char *local)
{
  return node != NULL && node->type == XML_ELEMENT_NODE
         && (node->ns == NULL || (node->ns->href != NULL && strcmp ((const char *) node->ns->href, NS) == 0))
         && strcmp ((const char *) node->name, local) == 0;
}

static gboolean
is_ours_strict (xmlNodePtr node, const char *local)
{
  return is_ours (node, local) && node->ns != NULL;
}

static char *
prop (xmlNodePtr node, const char *name)
{
  xmlChar *v = xmlGetProp (node, (const xmlChar *) name);
  char *r = v ? g_strdup ((const char *) v) : NULL;
  xmlFree (v);
  return r;
}

/* A checkpoint record from its element (in a lab mark or on its own). */
static NlCheckpointRecord *
checkpoint_from_node (xmlNodePtr c)
{
  NlCheckpointRecord *r = g_new0 (NlCheckpointRecord, 1);
  g_autofree char *running = prop (c, "running");
  r->name = prop (c, "name");
  r->mode = prop (c, "mode");
  r->created = prop (c, "created");
  r->nvram_copy = prop (c, "nvram");
  r->tpm_copy = prop (c, "tpm");
  r->memory = prop (c, "memory");
  r->running = running != NULL && strcmp (running, "yes") == 0;
  {
    /* One <disk target= overlay= base=/> per disk: paths may hold spaces. */
    g_autoptr (GPtrArray) targets = g_ptr_array_new_with_free_func (g_free);
    g_autoptr (GPtrArray) disks = g_ptr_array_new_with_free_func (g_free);
    g_autoptr (GPtrArray) bases = g_ptr_array_new_with_free_func (g_free);
    for (xmlNodePtr d = c->children; d; d = d->next)
      if (d->type == XML_ELEMENT_NODE && strcmp ((const char *) d->name, "disk") == 0)
        {
          char *t = prop (d, "target"), *o = prop (d, "overlay"), *b = prop (d, "base");
          if (t && o && b)
            {
              g_ptr_array_add (targets, t);
              g_ptr_array_add (disks, o);
              g_ptr_array_add (bases, b);
            }
          else
            {
              g_free (t);
              g_free (o);
              g_free (b);
            }
        }
    g_ptr_array_add (targets, NULL);
    g_ptr_array_add (disks, NULL);
    g_ptr_array_add (bases, NULL);
    r->targets = (char **) g_ptr_array_steal (targets, NULL);
    r->disks = (char **) g_ptr_array_steal (disks, NULL);
    r->bases = (char **) g_ptr_array_steal (bases, NULL);
  }
  if (r->name == NULL)
    {
      nl_checkpoint_record_free (r);
      return NULL;
    }
  return r;
}

static void
checkpoint_to_node (xmlNodePtr c, const NlCheckpointRecord *rec)
{
  xmlNewProp (c, (const xmlChar *) "name", (const xmlChar *) rec->name);
  xmlNewProp (c, (const xmlChar *) "mode", (const xmlChar *) rec->mode);
  if (rec->created)
    xmlNewProp (c, (const xmlChar *) "created", (const xmlChar *) rec->created);
  xmlNewProp (c, (const xmlChar *) "running", (const xmlChar *) (rec->running ? "yes" : "no"));
  if (rec->nvram_copy)
    xmlNewProp (c, (const xmlChar *) "nvram", (const xmlChar *) rec->nvram_copy);
  if (rec->tpm_copy)
    xmlNewProp (c, (const xmlChar *) "tpm", (const xmlChar *) rec->tpm_copy);
  if (rec->memory)
    xmlNewProp (c, (const xmlChar *) "memory", (const xmlChar *) rec->memory);
  for (guint i = 0; rec->targets && rec->disks && rec->bases && rec->targets[i] && rec->disks[i]
                    && rec->bases[i]; i++)
    {
      xmlNodePtr d = xmlNewChild (c, c->ns, (const xmlChar *) "disk", NULL);
      xmlNewProp (d, (const xmlChar *) "target", (const xmlChar *) rec->targets[i]);
      xmlNewProp (d, (const xmlChar *) "overlay", (const xmlChar *) rec->disks[i]);
      xmlNewProp (d, (const xmlChar *) "base", (const xmlChar *) rec->bases[i]);
    }
}

char *
nl_checkpoint_record_to_xml (const NlCheckpointRecord *rec, const char *element)
{
  g_autoptr (xmlDoc) doc = xmlNewDoc ((const xmlChar *) "1.0");
  xmlNodePtr root = xmlNewNode (NULL, (const xmlChar *) element);
  xmlBufferPtr buf;
  char *text;

  xmlDocSetRootElement (doc, root);
  checkpoint_to_node (root, rec);
  buf = xmlBufferCreate ();
  xmlNodeDump (buf, doc, root, 0, 0);
  text = g_strdup ((const char *) xmlBufferContent (buf));
  xmlBufferFree (buf);
  return text;
}

NlCheckpointRecord *
nl_checkpoint_record_from_xml (const char *xml)
{
  g_autoptr (xmlDoc) doc = xml ? xmlReadMemory (xml, strlen (xml), "record.xml", NULL,
                                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
                               : NULL;
  return doc && xmlDocGetRootElement (doc) ? checkpoint_from_node (xmlDocGetRootElement (doc)) : NULL;
}

static NlOwnership *
ownership_from_node (xmlNodePtr root)
{
  NlOwnership *own = g_new0 (NlOwnership, 1);
  g_autofree char *nested = prop (root, "nested");
  g_autofree char *wave = prop (root, "wave");
  xmlBufferPtr buf;

  own->lab = prop (root, "name");
  own->digest = prop (root, "digest");
  own->config = prop (root, "config");
  own->machine = prop (root, "machine");
  own->role = prop (root, "role");
  own->nested = nested != NULL && strcmp (nested, "yes") == 0;
  own->wave = wave ? (guint) g_ascii_strtoull (wave, NULL, 10) : 0;
  own->volumes = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_owned_volume_free);
  own->checkpoints = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_checkpoint_record_free);
  for (xmlNodePtr c = root->children; c; c = c->next)
    {
      if (is_ours (c, "volume") || is_ours (c, "shared-volume"))
        {
          NlOwnedVolume *v = g_new0 (NlOwnedVolume, 1);
          v->pool = prop (c, "pool");
          v->name = prop (c, "name");
          v->shared = is_ours (c, "shared-volume");
          if (v->pool && v->name)
            g_ptr_array_add (own->volumes, v);
          else
            nl_owned_volume_free (v);
        }
      else if (is_ours (c, "checkpoint"))
        {
          NlCheckpointRecord *r = checkpoint_from_node (c);
          if (r)
            g_ptr_array_add (own->checkpoints, r);
        }
    }
  buf = xmlBufferCreate ();
  xmlNodeDump (buf, root->doc, root, 0, 0);
  own->xml = g_strdup ((const char *) xmlBufferContent (buf));
  xmlBufferFree (buf);
  return own;
}

static xmlDocPtr
parse_xml (const char *xml, GError **error)
{
  xmlDocPtr doc = xmlReadMemory (xml, strlen (xml), "libvirt.xml", NULL,
                                 XML_PARSE_NONET | XML_PARSE_NOBLANKS);
  if (doc == NULL)
    g_set_error (error, NL_ERROR, NL_ERROR_LIBVIRT, "libvirt returned XML that does not parse");
  return doc;
}

gboolean
nl_ownership_parse (const char *xml, NlOwnership **out, GError **error)
{
  g_autoptr (xmlDoc) doc = NULL;
  xmlNodePtr root, found = NULL;

  *out = NULL;
  doc = parse_xml (xml, error);
  if (doc == NULL)
    return FALSE;
  root = xmlDocGetRootElement (doc);
  if (is_ours (root, "lab"))
    found = root;
  else
    for (xmlNodePtr c = root ? root->children : NULL; c && !found; c = c->next)
      if (c->type == XML_ELEMENT_NODE && strcmp ((const char *) c->name, "metadata") == 0)
        for (xmlNodePtr m = c->children; m && !found; m = m->next)
          if (is_ours_strict (m, "lab"))
            found = m;
  if (found != NULL)
    *out = ownership_from_node (found);
  return TRUE;
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

/* Edits the element kept in OWN->xml and returns the new text. */
static char *
rewrite (const NlOwnership *own, const NlOwnedVolume *add_volume,
         const NlCheckpointRecord *add_checkpoint, const char *drop_checkpoint,
         GError **error)
{
  g_autoptr (xmlDoc) doc = NULL;
  xmlNodePtr root;
  xmlNsPtr ns;
  xmlBufferPtr buf;
  char *text;

  doc = parse_xml (own->xml, error);
  if (doc == NULL)
    return NULL;
  root = xmlDocGetRootElement (doc);
  ns = root->ns;
  if (add_volume && !nl_ownership_lists_volume (own, add_volume->pool, add_volume->name))
    {
      xmlNodePtr v = xmlNewChild (root, ns, (const xmlChar *) "volume", NULL);
      xmlNewProp (v, (const xmlChar *) "pool", (const xmlChar *) add_volume->pool);
      xmlNewProp (v, (const xmlChar *) "name", (const xmlChar *) add_volume->name);
    }
  for (xmlNodePtr c = root->children, next; c; c = next)
    {
      g_autofree char *name = NULL;
      next = c->next;
      if (!is_ours (c, "checkpoint"))
        continue;
      name = prop (c, "name");
      if ((drop_checkpoint && g_strcmp0 (name, drop_checkpoint) == 0)
          || (add_checkpoint && g_strcmp0 (name, add_checkpoint->name) == 0))
        {
          xmlUnlinkNode (c);
          xmlFreeNode (c);
        }
    }
  if (add_checkpoint)
    {
      xmlNodePtr c = xmlNewChild (root, ns, (const xmlChar *) "checkpoint", NULL);
      checkpoint_to_node (c, add_checkpoint);
    }
  buf = xmlBufferCreate ();
  xmlNodeDump (buf, doc, root, 0, 0);
  text = g_strdup ((const char *) xmlBufferContent (buf));
  xmlBufferFree (buf);
  return text;
}

char *
nl_ownership_with_volume (const NlOwnership *own, const char *pool, const char *name, GError **error)
{
  NlOwnedVolume v = { .pool = (char *) pool, .name = (char *) name };
  return rewrite (own, &v, NULL, NULL, error);
}

NlOwnership *
nl_ownership_with_files (const NlOwnership *own, const char *pool, GPtrArray *files, GError **error)
{
  NlOwnership *cur = NULL;

  if (!nl_ownership_parse (own->xml, &cur, error))
    return NULL;
  for (guint i = 0; files && i < files->len; i++)
    {
      g_autofree char *base = g_path_get_basename (files->pdata[i]);
      g_autofree char *next = nl_ownership_with_volume (cur, pool, base, error);
      NlOwnership *reparsed = NULL;
      if (next == NULL || !nl_ownership_parse (next, &reparsed, error))
        {
          nl_ownership_free (cur);
          return NULL;
        }
      nl_ownership_free (cur);
      cur = reparsed;
    }
  return cur;
}

char *
nl_ownership_with_checkpoint (const NlOwnership *own, const NlCheckpointRecord *rec, GError **error)
{
  return rewrite (own, NULL, rec, NULL, error);
}

char *
nl_ownership_without_checkpoint (const NlOwnership *own, const char *name, GError **error)
{
  return rewrite (own, NULL, NULL, name, error);
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
nl_virt_domain_ownership (virDomainPtr dom, NlOwnership **out, GError **error)
{
  const char *objname = virDomainGetName (dom);
  g_autofree char *xml = NULL;

  *out = NULL;
  xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, NS, VIR_DOMAIN_AFFECT_CONFIG);
  if (xml == NULL)
    {
      if (nl_virt_last_error_is_not_found ())
        {
          virResetLastError ();
          return TRUE;
        }
      /* A transient domain has no persistent config: ask for the live one. */
      virResetLastError ();
      xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, NS, VIR_DOMAIN_AFFECT_CURRENT);
      if (xml == NULL)
        {
          if (nl_virt_last_error_is_not_found ())
            {
              virResetLastError ();
              return TRUE;
            }
          nl_virt_set_error (error, "reading the metadata of domain '%s'", objname);
          return FALSE;
        }
    }
  return nl_ownership_parse (xml, out, error);
}

gboolean
nl_virt_domain_set_ownership (virDomainPtr dom, const char *element, GError **error)
{
  const char *objname = virDomainGetName (dom);
  unsigned int flags = VIR_DOMAIN_AFFECT_CONFIG;
  if (virDomainIsActive (dom) == 1)
    flags |= VIR_DOMAIN_AFFECT_LIVE;
  if (virDomainSetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, element,
                            NL_VIRT_METADATA_PREFIX, NS, flags) < 0)
    {
      nl_virt_set_error (error, "writing the metadata of domain '%s'", objname);
      return FALSE;
    }
  return TRUE;
}

gboolean
nl_virt_network_ownership (virNetworkPtr net, NlOwnership **out, GError **error)
{
  const char *objname = virNetworkGetName (net);
  g_autofree char *xml = virNetworkGetXMLDesc (net, VIR_NETWORK_XML_INACTIVE);

  *out = NULL;
  if (xml == NULL)
    {
      /* The test driver knows no flags here. */
      virResetLastError ();
      xml = virNetworkGetXMLDesc (net, 0);
    }
  if (xml == NULL)
    {
      nl_virt_set_error (error, "reading network '%s'", objname);
      return FALSE;
    }
  return nl_ownership_parse (xml, out, error);
}

void
nl_owned_domain_free (NlOwnedDomain *od)
{
  if (od == NULL)
    return;
  g_clear_pointer (&od->dom, virDomainFree);
  g_free (od->name);
  nl_ownership_free (od->own);
  g_free (od);
}

void
nl_owned_network_free (NlOwnedNetwork *on)
{
  if (on == NULL)
    return;
  g_clear_pointer (&on->net, virNetworkFree);
  g_free (on->name);
  nl_ownership_free (on->own);
  g_free (on);
}

GPtrArray *
nl_virt_list_owned_domains (virConnectPtr conn, const char *lab, GError **error)
{
  g_autoptr (GPtrArray) result = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_owned_domain_free);
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms, 0);

  if (n < 0)
    {
      nl_virt_set_error (error, "listing domains");
      return NULL;
    }
  for (int i = 0; i < n; i++)
    {
      NlOwnership *own = NULL;
      g_autoptr (GError) local = NULL;
      if (!nl_virt_domain_ownership (doms[i], &own, &local))
        {
          /* A domain that vanished meanwhile is simply not listed. */
          if (!g_error_matches (local, NL_ERROR, NL_ERROR_NOT_FOUND) && result != NULL)
            {
              g_propagate_error (error, g_steal_pointer (&local));
              g_clear_pointer (&result, g_ptr_array_unref);
            }
        }
      if (result != NULL && nl_ownership_is_lab (own, lab))
        {
          NlOwnedDomain *od = g_new0 (NlOwnedDomain, 1);
          od->name = g_strdup (virDomainGetName (doms[i]));
          od->dom = g_steal_pointer (&doms[i]);
          od->own = g_steal_pointer (&own);
          g_ptr_array_add (result, od);
        }
      nl_ownership_free (own);
      if (doms[i])
        virDomainFree (doms[i]);
    }
  free (doms);
  return g_steal_pointer (&result);
}

GPtrArray *
nl_virt_list_owned_networks (virConnectPtr conn, const char *lab, GError **error)
{
  g_autoptr (GPtrArray) result = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_owned_network_free);
  virNetworkPtr *nets = NULL;
  int n = virConnectListAllNetworks (conn, &nets, 0);

  if (n < 0)
    {
      nl_virt_set_error (error, "listing networks");
      return NULL;
    }
  for (int i = 0; i < n; i++)
    {
      NlOwnership *own = NULL;
      g_autoptr (GError) local = NULL;
      if (!nl_virt_network_ownership (nets[i], &own, &local)
          && !g_error_matches (local, NL_ERROR, NL_ERROR_NOT_FOUND) && result != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          g_clear_pointer (&result, g_ptr_array_unref);
        }
      if (result != NULL && nl_ownership_is_lab (own, lab))
        {
          NlOwnedNetwork *on = g_new0 (NlOwnedNetwork, 1);
          on->name = g_strdup (virNetworkGetName (nets[i]));
          on->net = g_steal_pointer (&nets[i]);
          on->own = g_steal_pointer (&own);
          g_ptr_array_add (result, on);
        }
      nl_ownership_free (own);
      if (nets[i])
        virNetworkFree (nets[i]);
    }
  free (nets);
  return g_steal_pointer (&result);
}
