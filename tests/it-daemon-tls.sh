#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gaitkeeperd against a TLS + password mosquitto on loopback: the hostname
# is checked (a certificate for another host is refused unless
# tls_verify_hostname = false), a wrong password is refused, and a password
# file readable by others stops the daemon at start (reliability.md S4).
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1

GKD=$GK_BUILD/gaitkeeperd
if [ ! -x "$GKD" ] || ! command -v openssl > /dev/null; then
	gk_skip "gaitkeeperd and openssl" "missing"
	gk_done
	exit 1
fi

t=$gk_tmp
# A CA, a server certificate for 127.0.0.1 and one for another host.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$t/ca.key" -out "$t/ca.pem" -days 2 \
	-subj /CN=gk-test-ca 2> /dev/null
server_cert() {	# server_cert NAME SAN
	openssl req -newkey rsa:2048 -nodes -keyout "$t/$1.key" -out "$t/$1.csr" \
		-subj "/CN=$1" 2> /dev/null
	printf 'subjectAltName=%s\n' "$2" > "$t/$1.ext"
	openssl x509 -req -in "$t/$1.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" \
		-CAcreateserial -days 2 -extfile "$t/$1.ext" -out "$t/$1.pem" 2> /dev/null
}
server_cert good "IP:127.0.0.1,DNS:127.0.0.1"
server_cert wrong "DNS:broker.wrong.invalid"
gk_check "test certificates made" test -s "$t/good.pem" -a -s "$t/wrong.pem"

mosquitto_passwd -b -c "$t/passwd" gk s3cret-pass 2> /dev/null
PORT=$(gk_free_port)
start_broker() {	# start_broker CERTNAME
	cat > "$t/mosq.conf" <<CONF
listener $PORT 127.0.0.1
cafile $t/ca.pem
certfile $t/$1.pem
keyfile $t/$1.key
allow_anonymous false
password_file $t/passwd
user $(id -un)
persistence false
log_dest file $t/mosq.log
CONF
	gk_bg mosquitto -c "$t/mosq.conf"
	BROKER_PID=$gk_last_pid
	gk_wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT"
}
stop_broker() {
	kill -TERM "$BROKER_PID"
	wait "$BROKER_PID" 2> /dev/null
}

printf 's3cret-pass\n' > "$t/pw"
write_config() {	# write_config VERIFY
	cat > "$t/gk.conf" <<EOF
node = "tls";
dbus = { enabled = false; };
mqtt = { uri = "mqtts://127.0.0.1:$PORT"; tls_ca = "$t/ca.pem"; username = "gk";
         password_file = "$t/pw"; tls_verify_hostname = $1; };
EOF
}
run_daemon() {	# run_daemon LOG: start, give it 6 s, stop
	"$GKD" --config "$t/gk.conf" --state-dir "$t/state" --stderr 2> "$1" &
	local pid=$!
	sleep 6
	kill -TERM "$pid" 2> /dev/null
	wait "$pid"
}

# ---- the password file must not be readable by others ---------------------
write_config true
chmod 0644 "$t/pw"
"$GKD" --config "$t/gk.conf" --state-dir "$t/state" --stderr 2> "$t/perm.log"
rc=$?
gk_check "password file mode 0644: refuses to start (exit $rc)" test "$rc" -ne 0
gk_check "... and says why" grep -q "Password file '$t/pw' is readable by others" "$t/perm.log"
chmod 0600 "$t/pw"
gk_check "password never logged" bash -c "! grep -q s3cret '$t/perm.log'"

# ---- right host, right password: connected --------------------------------
start_broker good
run_daemon "$t/good.log"
gk_check "TLS with hostname check and password: connected" \
	grep -q 'Connected to MQTT broker mqtts://127.0.0.1' "$t/good.log"

# ---- wrong password: refused ----------------------------------------------
printf 'wrong\n' > "$t/pw"
run_daemon "$t/badpw.log"
gk_check "wrong password: not connected" bash -c "! grep -q 'Connected to MQTT' '$t/badpw.log'"
gk_check "wrong password: failure logged" grep -q 'Failed to connect to MQTT broker' "$t/badpw.log"
printf 's3cret-pass\n' > "$t/pw"
stop_broker

# ---- certificate for another host: refused unless verification is off ------
start_broker wrong
run_daemon "$t/wrong.log"
gk_check "certificate for another host: refused (verify = 1)" \
	bash -c "! grep -q 'Connected to MQTT' '$t/wrong.log'"
write_config false
run_daemon "$t/noverify.log"
gk_check "same certificate with tls_verify_hostname = false: connected" \
	grep -q 'Connected to MQTT broker' "$t/noverify.log"
stop_broker
gk_check "no password in any log" bash -c "! grep -q s3cret '$t'/*.log"
gk_done
