#!/usr/bin/env python3
"""Turn GitHub's GraphQL schema, as introspection JSON, into the compact
table ghp vendors (data/github-graphql-schema.tsv).

Usage: gql_schema_extract.py schema.json > data/github-graphql-schema.tsv

schema.json is the introspection answer GitHub serves (the @octokit/
graphql-schema npm package ships it).  Only what ghp's analysis needs is
kept: every type's kind, the possible types of interfaces and unions (and
the interfaces of objects), every output field's type and arguments, and
every input object's fields.  Descriptions and deprecation notes go.
Lines are sorted so that a new snapshot diffs well.
"""
import json
import sys


def type_text(t):
    if t["kind"] == "NON_NULL":
        return type_text(t["ofType"]) + "!"
    if t["kind"] == "LIST":
        return "[" + type_text(t["ofType"]) + "]"
    return t["name"]


def main():
    with open(sys.argv[1]) as f:
        schema = json.load(f)["__schema"]
    out = []
    for t in schema["types"]:
        name, kind = t["name"], t["kind"]
        rel = []
        if kind in ("INTERFACE", "UNION"):
            rel = [p["name"] for p in t.get("possibleTypes") or []]
        elif kind == "OBJECT":
            rel = [i["name"] for i in t.get("interfaces") or []]
        out.append("type\t%s\t%s\t%s" % (name, kind,
                                         ",".join(sorted(rel)) or "-"))
        for fd in t.get("fields") or []:
            args = ",".join("%s:%s" % (a["name"], type_text(a["type"]))
                            for a in fd.get("args") or [])
            out.append("field\t%s\t%s\t%s\t%s" % (
                name, fd["name"], type_text(fd["type"]), args or "-"))
        for fd in t.get("inputFields") or []:
            out.append("input\t%s\t%s\t%s" % (name, fd["name"],
                                               type_text(fd["type"])))
    print("# kind\ttype\tname-or-kind\ttype-or-related\targuments")
    for line in sorted(out):
        print(line)


if __name__ == "__main__":
    main()
