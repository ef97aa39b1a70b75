#!/usr/bin/env bash
# Make a throwaway PKI for the TLS repository server tests, with the openssl
# command (EC P-256 keys, every key file mode 0600):
#
#   tests/tls/make-certs.sh DIR
#
#   ca.crt                  the test CA (signs the server and the clients)
#   server.crt/.key         CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   pg1.crt/.key, pg2.crt/.key, intruder.crt/.key     clients by CN
#   expired.crt/.key        CN=pg1, expired (in the past)
#   otherca.crt/.key        CN=pg1, signed by another CA
#   chain.crt/.key          CN=pg1, signed by an intermediate CA; chain.crt
#                           holds the client certificate then the intermediate
#   server-chain.crt/.key   like server.crt, signed by the intermediate CA;
#                           the file holds the certificate then the intermediate
#   wronghost.crt/.key      server certificate for CN/SAN "elsewhere.invalid"
#   twocn.crt/.key          two common names, CN=pg1 then CN=intruder
#
# A certificate whose CN holds a NUL byte cannot be asked of the openssl
# command; tests/unit/test_tls.c makes one with the same CA.
set -euo pipefail

dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {	# name subject [signer]
	key "$1.key"
	if [ $# -eq 2 ]; then
		openssl req -x509 -new -key "$1.key" -subj "$2" -days 30 -out "$1.crt" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	else
		openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
		printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$1.ext"
		openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial \
			-days 30 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
	fi
}
leaf() {	# name subject signer days extfile-lines; days "expired": in 2020
	local validity=(-days "$4")
	key "$1.key"
	openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
	printf '%b' "$5" >"$1.ext"
	if [ "$4" = expired ]; then
		# OpenSSL 3.4+ has -not_after; older ones take a negative -days
		if openssl x509 -help 2>&1 | grep -q not_after; then
			validity=(-not_before 20200101000000Z -not_after 20200102000000Z)
		else
			validity=(-days -1)
		fi
	fi
	openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial \
		"${validity[@]}" -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
client_ext='basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n'
server_ext='basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n'

ca ca "/CN=pg_safebackup test CA"
ca otherca-root "/CN=some other CA"
ca inter "/CN=pg_safebackup test intermediate" ca
leaf server "/CN=localhost" ca 30 "$server_ext"
leaf wronghost "/CN=elsewhere.invalid" ca 30 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:elsewhere.invalid\n'
for cn in pg1 pg2 intruder; do
	leaf "$cn" "/CN=$cn" ca 30 "$client_ext"
done
leaf twocn "/CN=pg1/CN=intruder" ca 30 "$client_ext"
leaf expired "/CN=pg1" ca expired "$client_ext"
leaf otherca "/CN=pg1" otherca-root 30 "$client_ext"
leaf chain "/CN=pg1" inter 30 "$client_ext"
cat inter.crt >>chain.crt
leaf server-chain "/CN=localhost" inter 30 "$server_ext"
cat inter.crt >>server-chain.crt
rm -f ./*.csr ./*.ext ./*.srl
chmod 600 ./*.key
chmod 644 ./*.crt
