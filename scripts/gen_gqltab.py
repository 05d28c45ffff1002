#!/usr/bin/env python3
"""gen_gqltab.py: build ghp's GraphQL table (C) from the schema and policy.

usage: gen_gqltab.py SCHEMA.tsv POLICY.tsv OUTPUT.c

SCHEMA.tsv is GitHub's GraphQL schema in the compact form of
scripts/gql_schema_extract.py; POLICY.tsv is ghp's policy on it (its
format is described at its top).  Writes the tables declared in
common/gqltab.h.  Anything odd stops the build with "file:line: message":
a line of the wrong shape, a type, field or argument the schema does not
have, a class, edge or access level this script does not know, a rule
given twice, or two patterns of equal length that both match a type.
Python 3 standard library only.
"""

import sys

KINDS = ["SCALAR", "ENUM", "OBJECT", "INTERFACE", "UNION", "INPUT_OBJECT"]
CLASSES = ["none", "public", "account", "repository", "data", "inherit",
           "refuse", "introspection", "mixed"]
EDGES = ["default", "same", "foreign", "refuse", "root-repository",
         "root-account", "root-public", "part", "name", "root-node"]
LEVELS = {"read": 1, "write": 2, "admin": 3}


class Fail(Exception):
    pass


def named(t):
    return t.replace("[", "").replace("]", "").replace("!", "")


def tsv_rows(path):
    """(where, columns) of each line that is not blank or a comment."""
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.startswith("#") or not line.strip():
                continue
            yield "%s:%d" % (path, n), line.rstrip("\n").split("\t")


def read_schema(path):
    types, fields, inputs = {}, {}, {}
    for where, c in tsv_rows(path):
        if c[0] == "type" and len(c) == 4 and c[2] in KINDS:
            rel = [] if c[3] == "-" else c[3].split(",")
            types[c[1]] = (c[2], rel)
        elif c[0] == "field" and len(c) == 5:
            args = {}
            if c[4] != "-":
                for a in c[4].split(","):
                    k, _, v = a.partition(":")
                    args[k] = v
            fields.setdefault(c[1], {})[c[2]] = (c[3], args)
        elif c[0] == "input" and len(c) == 4:
            inputs.setdefault(c[1], {})[c[2]] = c[3]
        else:
            raise Fail("%s: malformed line" % where)
    for t in list(fields) + list(inputs):
        if t not in types:
            raise Fail("%s: fields of unknown type %s" % (path, t))
    return types, fields, inputs


def read_policy(path, types, fields, inputs):
    pol = {"class": {}, "pattern": {}, "edge": {}, "root": {},
           "mutation": {}}
    for where, c in tsv_rows(path):
        try:
            policy_line(pol, c, types, fields, inputs)
        except Fail as e:
            raise Fail("%s: %s" % (where, e))
    return pol


def perms_of(s):
    p = s.split("|")
    if len(p) > 2 or any(not x or ":" in x for x in p):
        raise Fail("bad permissions %r" % s)
    return tuple(p)


def policy_line(pol, c, types, fields, inputs):
    kind = c[0]
    if kind == "class":
        if len(c) < 3 or c[2] not in CLASSES[1:-1]:
            raise Fail("class TYPE CLASS [PERMS] [NOTE]")
        name, cls = c[1], c[2]
        perms, note = None, None
        if cls == "data":
            if len(c) < 4:
                raise Fail("data needs permissions")
            perms = perms_of(c[3])
        elif cls == "refuse":
            if len(c) < 4:
                raise Fail("refuse needs a note")
            note = c[3]
        if "*" in name:
            if name.count("*") != 1 or name[1:-1].count("*"):
                raise Fail("a pattern has one '*', first or last")
            table, matched = pol["pattern"], [
                t for t in types if match(name, t)]
        else:
            table, matched = pol["class"], [name] if name in types else []
        if not matched:
            raise Fail("%s matches no type" % name)
        if name in table:
            raise Fail("%s given twice" % name)
        table[name] = (cls, perms, note)
    elif kind == "edge":
        if len(c) < 3 or c[2] not in ("same", "foreign", "refuse", "part",
                                      "name"):
            raise Fail("edge TYPE.FIELD same|foreign|part|name|refuse "
                       "[NOTE]")
        t, _, fld = c[1].partition(".")
        if t != "*" and fld not in fields.get(t, {}):
            raise Fail("no field %s" % c[1])
        if t == "*" and not any(fld in f for f in fields.values()):
            raise Fail("no type has a field %s" % fld)
        if c[2] == "refuse" and len(c) < 4:
            raise Fail("refuse needs a note")
        if c[1] in pol["edge"]:
            raise Fail("%s given twice" % c[1])
        pol["edge"][c[1]] = (c[2], c[3] if len(c) > 3 else None)
    elif kind == "root":
        if len(c) < 3 or c[2] not in ("repository", "account", "public",
                                      "node", "refuse"):
            raise Fail("root FIELD repository|node|account|public|refuse")
        if c[1] not in fields["Query"]:
            raise Fail("Query has no field %s" % c[1])
        if c[2] == "refuse" and len(c) < 4:
            raise Fail("refuse needs a note")
        if c[1] in pol["root"]:
            raise Fail("%s given twice" % c[1])
        pol["root"][c[1]] = (c[2], c[3] if len(c) > 3 else None)
    elif kind == "mutation":
        if len(c) != 4:
            raise Fail("mutation FIELD PERMS:LEVEL TARGETS")
        if c[1] not in fields["Mutation"]:
            raise Fail("Mutation has no field %s" % c[1])
        p, _, lvl = c[2].rpartition(":")
        if lvl not in LEVELS:
            raise Fail("bad level %r" % lvl)
        check_targets(c[1], c[3], fields, inputs)
        if c[1] in pol["mutation"]:
            raise Fail("%s given twice" % c[1])
        pol["mutation"][c[1]] = (perms_of(p), LEVELS[lvl], c[3])
    else:
        raise Fail("unknown rule %r" % kind)


def check_targets(mut, spec, fields, inputs):
    for conj in spec.split("+"):
        for path in conj.split("|"):
            path = path.rstrip("?")
            byname = path.endswith("=name")
            path = path[:-5] if byname else path
            segs = path.split(".")
            t = fields["Mutation"][mut][1].get(segs[0])
            if t is None:
                raise Fail("%s has no argument %s" % (mut, segs[0]))
            for s in segs[1:]:
                t = inputs.get(named(t), {}).get(s)
                if t is None:
                    raise Fail("%s: no input field %s" % (mut, path))
            want = "String" if byname else "ID"
            if named(t) != want or t.startswith("["):
                raise Fail("%s: %s is %s, not %s" % (mut, path, t, want))


def match(pat, name):
    if pat.endswith("*"):
        return name.startswith(pat[:-1])
    return name.endswith(pat[1:])


def classify(types, fields, pol):
    cls = {}
    for t in types:
        cls[t] = own_class(t, types, fields, pol)
    # Interfaces and unions: their possible types' class when all agree.
    for t, (kind, rel) in types.items():
        if kind in ("INTERFACE", "UNION") and t not in pol["class"] and \
                cls[t][0] == "none":
            got = {cls[p] for p in rel}
            if len(got) == 1:
                cls[t] = got.pop()
            elif got:
                cls[t] = ("mixed", None, None)
    # Connections and edges: their node's class.
    for t in types:
        if t in pol["class"]:
            continue
        node = node_type(t, fields)
        if node is not None:
            cls[t] = cls[node] if node in cls else ("none", None, None)
    return cls


def own_class(t, types, fields, pol):
    if t in pol["class"]:
        return pol["class"][t]
    best, blen = None, -1
    for pat, v in pol["pattern"].items():
        if match(pat, t):
            if len(pat) == blen:
                raise Fail("%s: patterns %s and %s tie" % (t, best, pat))
            if len(pat) > blen:
                best, blen = pat, len(pat)
    return pol["pattern"][best] if best else ("none", None, None)


def node_type(t, fields):
    f = fields.get(t, {})
    if t.endswith("Connection") and "nodes" in f:
        return named(f["nodes"][0])
    if t.endswith("Connection") and "edges" in f:
        return node_type(named(f["edges"][0]), fields)
    if t.endswith("Edge") and "node" in f:
        return named(f["node"][0])
    return None


def cstr(s):
    if s is None:
        return "NULL"
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def field_rule(t, name, pol):
    if t == "Query":
        if name not in pol["root"]:
            return "refuse", "this root is not analysed by ghp"
        kind, note = pol["root"][name]
        return ("refuse" if kind == "refuse" else "root-" + kind), note
    for key in ("%s.%s" % (t, name), "*.%s" % name):
        if key in pol["edge"]:
            return pol["edge"][key]
    return "default", None


def emit(out, types, fields, cls, pol):
    names = sorted(types)
    index = {n: i for i, n in enumerate(names)}
    w = out.write
    w("/* Generated by scripts/gen_gqltab.py: do not edit. */\n")
    w("#include \"gqltab.h\"\n\n")
    w("const struct gqltab_field gqltab_fields[] = {\n")
    starts, nf = {}, 0
    for t in names:
        starts[t] = nf
        for fname in sorted(fields.get(t, {})):
            ftype = named(fields[t][fname][0])
            edge, note = field_rule(t, fname, pol)
            perms, level, targets = [None, None], 0, None
            if t == "Mutation" and fname in pol["mutation"]:
                p, level, targets = pol["mutation"][fname]
                perms = (list(p) + [None])[:2]
            w("\t{ %s, %d, %d, %s, { %s, %s }, %d, %s },\n" % (
                cstr(fname), index[ftype], EDGES.index(edge), cstr(note),
                cstr(perms[0]), cstr(perms[1]), level, cstr(targets)))
            nf += 1
    w("\t{ NULL, 0, 0, NULL, { NULL, NULL }, 0, NULL }\n};\n\n")
    w("const uint32_t gqltab_related[] = {\n")
    rstarts, nr = {}, 0
    for t in names:
        rstarts[t] = nr
        for r in sorted(types[t][1]):
            w("\t%d,\n" % index[r])
            nr += 1
    w("\t0\n};\n\n")
    w("const struct gqltab_type gqltab_types[] = {\n")
    for t in names:
        kind, rel = types[t]
        c, perms, note = cls[t]
        perms = (list(perms or []) + [None, None])[:2]
        w("\t{ %s, %d, %d, { %s, %s }, %s, %d, %d, %d, %d },\n" % (
            cstr(t), KINDS.index(kind), CLASSES.index(c), cstr(perms[0]),
            cstr(perms[1]), cstr(note), starts[t],
            len(fields.get(t, {})), rstarts[t], len(rel)))
    w("};\n\nconst size_t gqltab_ntypes = %d;\n" % len(names))
    w("const uint32_t gqltab_query = %d, gqltab_mutation = %d;\n" % (
        index["Query"], index["Mutation"]))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n")[2])
    try:
        types, fields, inputs = read_schema(sys.argv[1])
        pol = read_policy(sys.argv[2], types, fields, inputs)
        cls = classify(types, fields, pol)
    except Fail as e:
        sys.exit("gen_gqltab.py: %s" % e)
    with open(sys.argv[3] + ".tmp", "w") as out:
        emit(out, types, fields, cls, pol)
    import os
    os.rename(sys.argv[3] + ".tmp", sys.argv[3])


if __name__ == "__main__":
    main()
