"""Meshes from the catalog in a line of Python."""

from .core import Module, parse, load, catalog_chips, catalog_links, Error


def _symbol(catalog_id):
    """A symbol name for a catalog id: h100-sxm -> h100_sxm."""
    return "".join(c if c.isalnum() else "_" for c in catalog_id)


def _check(kind, ids, what):
    if kind not in ids:
        raise Error("unknown %s '%s'; expected one of %s"
                    % (what, kind, ", ".join(sorted(ids))))


class Mesh:
    """A topo.mesh, built from catalog ids or read from text.

        Mesh.node("h100-sxm", 8)                      # one NVSwitch node
        Mesh.cluster([("h100-sxm", 8)] * 4, network="infiniband-ndr")
        Mesh.cluster([("ascend-910b", 4), ("mtt-s4000", 4)], network="roce-200g")
    """

    def __init__(self, text, name):
        self.text = text
        self.name = name

    def __str__(self):
        return self.text

    @staticmethod
    def node(chip, count, link=None, name="node"):
        """`count` chips of one kind joined by their scale-up link."""
        return Mesh.cluster([(chip, count)], network=None, link=link,
                            name=name)

    @staticmethod
    def cluster(nodes, network="infiniband-ndr", link=None, name="cluster"):
        """Nodes of (chip, count) pairs, each node switched over the chip's
        scale-up link (or `link`), the nodes joined by `network`."""
        chips = {c["id"]: c for c in catalog_chips()}
        links = {l["id"] for l in catalog_links()}
        if not nodes:
            raise Error("a mesh needs at least one node")
        kinds, link_kinds = {}, {}
        lines = []
        for index, (chip, count) in enumerate(nodes):
            _check(chip, chips, "chip")
            if int(count) < 1:
                raise Error("node %d has %s chips; it needs at least one"
                            % (index, count))
            node_link = link or chips[chip]["scaleup_link"]
            _check(node_link, links, "link")
            kinds.setdefault(chip, _symbol(chip))
            link_kinds.setdefault(node_link, _symbol(node_link))
            lines.append('    topo.group "n%d" switched via @%s { topo.chips @%s x %d }'
                         % (index, link_kinds[node_link], kinds[chip], int(count)))
        if len(nodes) > 1:
            if network is None:
                raise Error("several nodes need a network link")
            _check(network, links, "link")
            link_kinds.setdefault(network, _symbol(network))
        body = ['topo.mesh @%s {' % name]
        body += ['  topo.chip_kind @%s catalog "%s"' % (sym, chip)
                 for chip, sym in kinds.items()]
        body += ['  topo.link_kind @%s catalog "%s"' % (sym, l)
                 for l, sym in link_kinds.items()]
        if len(nodes) > 1:
            body.append('  topo.group "%s" switched via @%s {' % (name, link_kinds[network]))
            body += lines
            body.append('  }')
        else:
            body += [line[2:] for line in lines]
        body.append('}')
        mesh = Mesh("\n".join(body) + "\n", name)
        parse(mesh.text, "<mesh @%s>" % name)  # the verifier's word on it
        return mesh

    @staticmethod
    def parse(text):
        """A mesh from MLIR text holding one topo.mesh."""
        module = parse(text, "<mesh>")
        import re
        names = re.findall(r"topo\.mesh @([\w.$-]+)", module.text)
        if len(names) != 1:
            raise Error("expected exactly one topo.mesh, found %d" % len(names))
        return Mesh(text, names[0])

    @staticmethod
    def load(path):
        with open(path) as f:
            return Mesh.parse(f.read())
