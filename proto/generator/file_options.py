"""Language file options for a generated package (pure function, unit-tested).

One rule per language, from the proto package `formance.<module>.<version>` alone, so every
generated file of a package gets the same options and a new module needs no configuration:
  go_package           github.com/formance-grpc-gateway/proto/formance/<module>/<version>;<module><version>
  java_package         com.formance.<module>.<version>   (java_multiple_files: one class per message)
  csharp_namespace     Formance.<Module>.<Version>
  php_namespace        Formance\\<Module>\\<Version>
  ruby_package         Formance::<Module>::<Version>
formance/gateway/v1/options.proto (hand-written) follows the same rule.
"""

GO_MODULE = "github.com/formance-grpc-gateway/proto"


def _title(part):
    return part[:1].upper() + part[1:]


def file_options(package):
    """[(option name, value)] in the order they are written; value is str or bool."""
    parts = package.split(".")
    if len(parts) < 2 or parts[0] != "formance":
        raise ValueError("not a formance.* package: %s" % package)
    titled = [_title(p) for p in parts]
    return [
        ("csharp_namespace", ".".join(titled)),
        ("go_package", "%s/%s;%s" % (GO_MODULE, "/".join(parts), "".join(parts[1:]))),
        ("java_multiple_files", True),
        ("java_package", "com." + package),
        ("php_namespace", "\\".join(titled)),
        ("ruby_package", "::".join(titled)),
    ]
