# SPDX-License-Identifier: GPL-2.0-or-later
# systemd/: unit, D-Bus policy, sysusers/tmpfiles, `make install`, and the
# dbus-api test driver (tests/it-dbus-api-driver.sh).
#
#   make install PREFIX=/usr DESTDIR=/tmp/pkg   a tree a Debian package ships
#
# bluez-sim is a development tool and is not installed. Configuration always
# goes under SYSCONFDIR (/etc): the unit's ConfigurationDirectory= and the
# daemon's default config path are /etc/gaitkeeper. dbus-daemon reads
# policies from /usr/share/dbus-1/system.d and /etc/dbus-1/system.d only,
# so with PREFIX=/usr/local copy the policy to /etc/dbus-1/system.d.

BINDIR        ?= $(PREFIX)/bin
SBINDIR       ?= $(PREFIX)/sbin
DATADIR       ?= $(PREFIX)/share
DOCDIR        ?= $(DATADIR)/doc/gaitkeeper
SYSCONFDIR    ?= /etc
UNITDIR       ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR   ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR   ?= $(PREFIX)/lib/tmpfiles.d
DBUSPOLICYDIR ?= $(DATADIR)/dbus-1/system.d
DBUSIFACEDIR  ?= $(DATADIR)/dbus-1/interfaces

INSTALL ?= install

# The committed unit assumes PREFIX=/usr; point it at the real paths.
GK_UNIT_SED = -e 's|/usr/sbin/gaitkeeperd|$(SBINDIR)/gaitkeeperd|' \
	-e 's|/usr/share/doc/gaitkeeper/|$(DOCDIR)/|'

install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(DBUSPOLICYDIR) \
		$(DESTDIR)$(DBUSIFACEDIR) $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(SYSCONFDIR)/gaitkeeper
	$(INSTALL) -m 0755 $(BUILD)/gaitkeeperd $(DESTDIR)$(SBINDIR)/gaitkeeperd
	$(INSTALL) -m 0755 $(BUILD)/gaitctl $(DESTDIR)$(BINDIR)/gaitctl
	sed $(GK_UNIT_SED) systemd/gaitkeeper.service > $(DESTDIR)$(UNITDIR)/gaitkeeper.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/gaitkeeper.service
	$(INSTALL) -m 0644 systemd/gaitkeeper.sysusers $(DESTDIR)$(SYSUSERSDIR)/gaitkeeper.conf
	$(INSTALL) -m 0644 systemd/gaitkeeper.tmpfiles $(DESTDIR)$(TMPFILESDIR)/gaitkeeper.conf
	$(INSTALL) -m 0644 systemd/io.gaitkeeper.Gaitkeeper1.conf \
		$(DESTDIR)$(DBUSPOLICYDIR)/io.gaitkeeper.Gaitkeeper1.conf
	$(INSTALL) -m 0644 docs/io.gaitkeeper.Gaitkeeper1.xml \
		$(DESTDIR)$(DBUSIFACEDIR)/io.gaitkeeper.Gaitkeeper1.xml
	$(INSTALL) -m 0644 config/gaitkeeper.conf.example \
		$(DESTDIR)$(SYSCONFDIR)/gaitkeeper/gaitkeeper.conf.example
	$(INSTALL) -m 0644 README.md LICENSE $(wildcard docs/*.md) \
		config/gaitkeeper.conf.example $(DESTDIR)$(DOCDIR)/
	@if [ -z "$(DESTDIR)" ]; then \
		echo "install: now run as root: systemd-sysusers; systemd-tmpfiles --create;"; \
		echo "  systemctl daemon-reload; systemctl reload dbus; systemctl enable --now gaitkeeper"; \
	fi

# Test driver: serves daemon/dbus-api on a private bus from stdin commands.
BINS += $(BUILD)/tests/dbus-api-driver
$(BUILD)/tests/dbus-api-driver: $(BUILD)/tests/dbus-api/driver.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(LDLIBS)

# docs/io.gaitkeeper.Gaitkeeper1.xml from the live objects of the driver;
# tests/it-dbus-api-driver.sh checks the committed file against it.
.PHONY: dbus-docs
dbus-docs: $(BUILD)/tests/dbus-api-driver
	GK_BUILD=$(BUILD) tests/dbus-api/introspect.sh > docs/io.gaitkeeper.Gaitkeeper1.xml
