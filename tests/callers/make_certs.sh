#!/usr/bin/env bash
# Makes the certificates of the callers suite in $1 with openssl (Debian): a test CA; the
# gateway's server certificate (DNS:localhost, IP:127.0.0.1); client certificates for
# spiffe://fgw.test/billing (URI SAN), reports.fgw.test (DNS SAN only) and CN=subject-only (no
# SAN); an expired client certificate of the same CA (2020-01-01..02); and a client
# certificate from a second, unknown CA. EC P-256 keys: fast on a loaded machine.
set -euo pipefail
D="$1"
mkdir -p "$D/ca/new"
cd "$D"
: >ca/index.txt
echo 1000 >ca/serial
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
csr() { openssl req -new -key "$1" -subj "$2" -out "$3" 2>/dev/null; }

for ca in ca other-ca; do
  key "$ca.key"
  openssl req -x509 -new -key "$ca.key" -subj "/CN=fgw $ca" -days 2 -out "$ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
done

sign() {  # name subject extensions [ca]
  local ca="${4:-ca}"
  key "$1.key"
  csr "$1.key" "$2" "$1.csr"
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
sign server "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
sign billing "/CN=billing" "subjectAltName=URI:spiffe://fgw.test/billing
extendedKeyUsage=clientAuth"
sign reports "/CN=reports" "subjectAltName=DNS:reports.fgw.test
extendedKeyUsage=clientAuth"
sign subject "/O=Example/CN=subject-only" "extendedKeyUsage=clientAuth"
sign stranger "/CN=stranger" "subjectAltName=URI:spiffe://fgw.test/billing
extendedKeyUsage=clientAuth" other-ca

# Expired: `openssl ca` is the one command of OpenSSL 3.0 that takes explicit dates.
cat >ca.cnf <<CNF
[ca]
default_ca = test_ca
[test_ca]
dir = $D/ca
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
default_md = sha256
policy = any
[any]
commonName = supplied
[client_ext]
extendedKeyUsage = clientAuth
subjectAltName = URI:spiffe://fgw.test/billing
CNF
key expired.key
csr expired.key "/CN=expired" expired.csr
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
  -startdate 20200101000000Z -enddate 20200102000000Z -extensions client_ext -notext 2>/dev/null
