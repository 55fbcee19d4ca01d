#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# systemd/: the unit's exposure score (<= 1.2), `systemd-analyze verify`
# without a single warning, the D-Bus policy and sysusers/tmpfiles files, and
# `make install DESTDIR=...` laying out a tree a Debian package could ship.
# All offline: no systemd as PID 1 needed, nothing installed on this machine.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
unit=systemd/gaitkeeper.service

if ! command -v systemd-analyze > /dev/null; then
	gk_skip "systemd-analyze" "not installed"
	gk_done
	exit
fi

# ---- exposure score ----------------------------------------------------------
score=$(systemd-analyze security --offline=yes "$unit" 2>&1 |
	sed -n 's/.*Overall exposure level for gaitkeeper.service: \([0-9.]*\).*/\1/p')
echo "# exposure score: ${score:-unknown}"
if systemd-analyze security --offline=yes --threshold=12 "$unit" > /dev/null 2>&1; then
	gk_ok "security --offline --threshold=12 passes (score ${score:-?} <= 1.2)"
else
	gk_not_ok "security --offline --threshold=12 passes (score ${score:-?} <= 1.2)"
fi
# The gate can fail: a threshold below our score must reject the unit.
if systemd-analyze security --offline=yes --threshold=5 "$unit" > /dev/null 2>&1; then
	gk_not_ok "threshold=5 rejects the unit (the gate is live)"
else
	gk_ok "threshold=5 rejects the unit (the gate is live)"
fi

for key in Type=notify NotifyAccess=main WatchdogSec=20s Restart=on-failure RestartSec=2 \
	User=gaitkeeperd StateDirectoryMode=0700 UMask=0077 CapabilityBoundingSet= \
	'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' MemoryMax=64M TasksMax=32; do
	gk_check "unit sets $key" grep -qx "$key" "$unit"
done
gk_check "unit has StartLimitBurst and StartLimitIntervalSec" \
	grep -q '^StartLimitBurst=' "$unit"
gk_check "unit wants and is ordered after bluetooth.target" \
	bash -c "grep -q '^Wants=.*bluetooth.target' $unit && grep -q '^After=.*bluetooth.target' $unit"
if grep -qE '^(LimitNPROC|DynamicUser)=' "$unit"; then
	gk_not_ok "no LimitNPROC= (Paho threads) and no DynamicUser="
else
	gk_ok "no LimitNPROC= (Paho threads) and no DynamicUser="
fi

# ---- install tree --------------------------------------------------------------
dest=$gk_tmp/dest
if make -s install PREFIX=/usr DESTDIR="$dest" > "$gk_tmp/install.log" 2>&1; then
	gk_ok "make install PREFIX=/usr DESTDIR=..."
else
	gk_not_ok "make install PREFIX=/usr DESTDIR=..."
	sed 's/^/# /' "$gk_tmp/install.log" | tail -20
fi
for f in usr/sbin/gaitkeeperd usr/bin/gaitctl usr/lib/systemd/system/gaitkeeper.service \
	usr/share/dbus-1/system.d/io.gaitkeeper.Gaitkeeper1.conf \
	usr/share/dbus-1/interfaces/io.gaitkeeper.Gaitkeeper1.xml \
	usr/lib/sysusers.d/gaitkeeper.conf usr/lib/tmpfiles.d/gaitkeeper.conf \
	etc/gaitkeeper/gaitkeeper.conf.example usr/share/doc/gaitkeeper/README.md \
	usr/share/doc/gaitkeeper/dbus.md usr/share/doc/gaitkeeper/deploy.md; do
	gk_check "installed $f" test -s "$dest/$f"
done
gk_check "binaries are executable" test -x "$dest/usr/sbin/gaitkeeperd" -a -x "$dest/usr/bin/gaitctl"
stray=$(cd "$dest" && find . -mindepth 1 -maxdepth 1 ! -name usr ! -name etc)
gk_check "nothing outside usr/ and etc/ (${stray:-none})" test -z "$stray"
gk_check "no development tool installed (bluez-sim, test drivers)" \
	test -z "$(find "$dest" -type f \( -name bluez-sim -o -name '*-driver' \))"
gk_check "installed unit starts the installed daemon" \
	grep -qx 'ExecStart=/usr/sbin/gaitkeeperd --config /etc/gaitkeeper/gaitkeeper.conf' \
	"$dest/usr/lib/systemd/system/gaitkeeper.service"
"$dest/usr/sbin/gaitkeeperd" --check-config "$dest/etc/gaitkeeper/gaitkeeper.conf.example" \
	> "$gk_tmp/check.log" 2>&1
gk_check "installed example config passes gaitkeeperd --check-config" \
	grep -q ': ok' "$gk_tmp/check.log"

# PREFIX=/usr/local: the unit follows the binary.
make -s install PREFIX=/usr/local DESTDIR="$gk_tmp/local" > /dev/null 2>&1
gk_check "PREFIX=/usr/local: unit points at /usr/local/sbin/gaitkeeperd" \
	grep -q '^ExecStart=/usr/local/sbin/gaitkeeperd ' \
	"$gk_tmp/local/usr/local/lib/systemd/system/gaitkeeper.service"

# ---- verify: the installed unit, its binary path mapped into the tree ---------
# verify exits 0 even on unknown keys: clean means no output at all.
mkdir -p "$gk_tmp/verify"
sed "s|^ExecStart=/usr/sbin/gaitkeeperd|ExecStart=$dest/usr/sbin/gaitkeeperd|" \
	"$dest/usr/lib/systemd/system/gaitkeeper.service" > "$gk_tmp/verify/gaitkeeper.service"
systemd-analyze verify "$gk_tmp/verify/gaitkeeper.service" > "$gk_tmp/verify.log" 2>&1
rc=$?
sed 's/^/# verify: /' "$gk_tmp/verify.log"
gk_check "systemd-analyze verify is clean (exit $rc, $(wc -l < "$gk_tmp/verify.log") lines)" \
	test "$rc" -eq 0 -a ! -s "$gk_tmp/verify.log"
# ...and would see a typo, which the score ignores.
sed 's/^ProtectSystem=/ProtectSytem=/' "$gk_tmp/verify/gaitkeeper.service" \
	> "$gk_tmp/verify/typo.service"
gk_check "verify reports a misspelt key" \
	bash -c "systemd-analyze verify '$gk_tmp/verify/typo.service' 2>&1 | grep -q ProtectSytem"

# ---- sysusers / tmpfiles in a scratch root ----------------------------------------
root=$gk_tmp/root
mkdir -p "$root/etc"
cp -a "$dest/." "$root/"
if systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/gaitkeeper.conf" \
	> "$gk_tmp/sysusers.log" 2>&1; then
	gk_ok "systemd-sysusers accepts gaitkeeper.sysusers"
else
	gk_not_ok "systemd-sysusers accepts gaitkeeper.sysusers"
fi
gk_check "sysusers creates system user gaitkeeperd" \
	bash -c "awk -F: '\$1 == \"gaitkeeperd\" && \$3 < 1000 && \$7 ~ /nologin/' '$root/etc/passwd' | grep -q ."
gk_check "sysusers creates operator group gaitkeeper" grep -q '^gaitkeeper:' "$root/etc/group"
if systemd-tmpfiles --root="$root" --create "$root/usr/lib/tmpfiles.d/gaitkeeper.conf" \
	> "$gk_tmp/tmpfiles.log" 2>&1; then
	gk_ok "systemd-tmpfiles --create accepts gaitkeeper.tmpfiles"
else
	gk_not_ok "systemd-tmpfiles --create accepts gaitkeeper.tmpfiles"
	sed 's/^/# /' "$gk_tmp/tmpfiles.log"
fi
gk_check "tmpfiles seeds /etc/gaitkeeper/gaitkeeper.conf from the example" \
	cmp -s "$root/etc/gaitkeeper/gaitkeeper.conf" "$root/etc/gaitkeeper/gaitkeeper.conf.example"
gk_check "state directory is 0700" \
	test "$(stat -c %a "$root/var/lib/gaitkeeper" 2>/dev/null)" = 700

# ---- D-Bus policy ------------------------------------------------------------------
gk_check "policy is well-formed XML" python3 -c \
	'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' \
	systemd/io.gaitkeeper.Gaitkeeper1.conf
gk_check "policy: only user gaitkeeperd may own the name" python3 - \
	systemd/io.gaitkeeper.Gaitkeeper1.conf <<'PY'
import sys, xml.etree.ElementTree as E
ok = True
for pol in E.parse(sys.argv[1]).getroot().iter('policy'):
    for a in pol.findall('allow'):
        if a.get('own') is not None and pol.get('user') != 'gaitkeeperd':
            ok = False
sys.exit(0 if ok else 1)
PY
gk_check "the bus accepts the policy (dbus-daemon --config-file)" bash -c "
	cat > '$gk_tmp/policy-check.conf' <<XML
<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"
 \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">
<busconfig><type>system</type><listen>unix:path=$gk_tmp/pc.sock</listen>
<include>$GK_ROOT/systemd/io.gaitkeeper.Gaitkeeper1.conf</include></busconfig>
XML
	timeout 5 dbus-daemon --config-file='$gk_tmp/policy-check.conf' --nofork --nopidfile \
		--print-address > '$gk_tmp/pc.out' 2>&1 &
	for i in \$(seq 50); do test -S '$gk_tmp/pc.sock' && break; sleep 0.1; done
	test -S '$gk_tmp/pc.sock'; rc=\$?; kill %1 2>/dev/null; wait; exit \$rc"

gk_done
