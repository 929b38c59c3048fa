"""Tests of proto/generator/file_options.py: the rule, and that every checked-in proto follows it."""
import glob
import os
import re
import sys
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "proto", "generator"))

from emit import text_value  # noqa: E402
from file_options import file_options  # noqa: E402


class FileOptionsTest(unittest.TestCase):
    def test_ledger_v2(self):
        self.assertEqual(dict(file_options("formance.ledger.v2")), {
            "csharp_namespace": "Formance.Ledger.V2",
            "go_package": "github.com/formance-grpc-gateway/proto/formance/ledger/v2;ledgerv2",
            "java_multiple_files": True,
            "java_package": "com.formance.ledger.v2",
            "php_namespace": "Formance\\Ledger\\V2",
            "ruby_package": "Formance::Ledger::V2",
        })

    def test_go_package_names_differ_per_version(self):
        names = {dict(file_options("formance.%s" % p))["go_package"].split(";")[1]
                 for p in ("ledger.v1", "ledger.v2", "payments.v1", "payments.v3")}
        self.assertEqual(names, {"ledgerv1", "ledgerv2", "paymentsv1", "paymentsv3"})

    def test_rejects_foreign_package(self):
        with self.assertRaises(ValueError):
            file_options("google.api")

    def test_every_checked_in_proto_follows_the_rule(self):
        files = sorted(glob.glob(os.path.join(REPO, "proto", "formance", "*", "*", "*.proto")))
        self.assertGreater(len(files), 20)
        for path in files:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            package = re.search(r"^package ([\w.]+);", text, re.M).group(1)
            for name, value in file_options(package):
                line = "option %s = %s;" % (name, text_value(value))
                self.assertIn(line, text.splitlines(), "%s: missing %s" % (path, line))


if __name__ == "__main__":
    unittest.main()
