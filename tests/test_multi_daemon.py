"""Three daemons on one PostgreSQL, one killed with SIGKILL mid-run (docs/DEPLOY.md).

300 local feeds hold 30 alert-worthy reports, each in two feeds (two outlets, so two
daemons may well process one story at the same moment). Every report must reach the
local Slack Web API server and the SMTP server exactly once, every feed must go on
being polled on schedule after the kill (the dead daemon's leases expire, its claimed
deliveries are settled), and no delivery may be left behind.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import BUSINESS_TEXT, BUSINESS_TITLE, SPORT_TEXT, SPORT_TITLE, item, rss
from slackserver import TOKEN, SlackServer
from smtpserver import SmtpServer

pytestmark = pytest.mark.faults

FEEDS = 300
EVERY = 10.0  # seconds between polls of each feed: 30 polls a second in all
# Thirty distinct events, written for this test: different places, parties and wording,
# so none is a near-duplicate of another or the same event by place.
REPORTS = [
    ("Kharkiv", "Rockets slam into Kharkiv apartment block", "Russian rockets hit a residential tower in Kharkiv before dawn, regional governor said."),
    ("Aleppo", "Barrel bombs dropped on Aleppo market", "Government helicopters dropped barrel bombs on a crowded market in eastern Aleppo, rescuers reported."),
    ("Khartoum", "RSF and army trade heavy fire across Khartoum", "Paramilitary fighters and soldiers exchanged machine-gun fire near the airport in Khartoum for hours."),
    ("Sanaa", "Air strikes pound Sanaa outskirts overnight", "Coalition jets bombed military depots on the northern edge of Sanaa, Houthi media said."),
    ("Bamako", "Jihadists storm gendarmerie school in Bamako", "Gunmen attacked a police training school in Bamako at dawn, security sources told reporters."),
    ("Mogadishu", "Car bomb explodes at Mogadishu checkpoint", "A suicide car bomb detonated at a busy checkpoint in Mogadishu, killing several soldiers."),
    ("Tripoli", "Militias clash with tanks in southern Tripoli", "Rival armed groups fought with tanks and rocket launchers in southern districts of Tripoli."),
    ("Mosul", "Insurgents ambush police patrol west of Mosul", "Islamic State fighters ambushed a federal police patrol on a desert road west of Mosul."),
    ("Kabul", "Blast rips through mosque in Kabul", "An explosion tore through a Shia mosque during Friday prayers in Kabul, witnesses said."),
    ("Mandalay", "Junta artillery shells villages near Mandalay", "Myanmar army guns fired on resistance-held villages outside Mandalay, displacing thousands."),
    ("Mekelle", "Drone strike hits fuel depot in Mekelle", "A military drone struck a fuel storage site in Mekelle, Tigrayan authorities said."),
    ("Maiduguri", "Boko Haram fighters raid Maiduguri suburb", "Insurgents on motorbikes opened fire on residents of a Maiduguri suburb late on Sunday."),
    ("Ouagadougou", "Soldiers repel assault on Ouagadougou barracks", "Troops fought off armed assailants who attacked an army base in Ouagadougou overnight."),
    ("Niamey", "Gunmen kill guards at Niamey prison gate", "Attackers shot dead prison guards at the gate of the main jail in Niamey, officials said."),
    ("N'Djamena", "Rebels fire mortars at N'Djamena garrison", "Rebel units lobbed mortar rounds at an army garrison on the outskirts of N'Djamena."),
    ("Goma", "M23 shelling reaches Goma camps", "Shells fired by M23 rebels landed in displacement camps around Goma, aid workers reported."),
    ("Bangui", "Armed men attack peacekeepers in Bangui", "Unidentified gunmen attacked a United Nations convoy in Bangui, wounding two peacekeepers."),
    ("Juba", "Gunfire erupts between units in Juba", "Heavy gunfire broke out between rival army units in Juba near the presidential palace."),
    ("Beirut", "Israeli strike levels building in Beirut suburb", "An Israeli air strike destroyed a multi-storey building in the southern suburbs of Beirut."),
    ("Goris", "Azerbaijani forces shell Armenian town of Goris", "Azerbaijani troops fired artillery at positions near Goris, Armenia's defence ministry said."),
    ("Cali", "Dissident guerrillas bomb police station in Cali", "FARC dissidents set off explosives outside a police station in Cali, Colombian police said."),
    ("Culiacan", "Cartel gunmen battle troops in Culiacan streets", "Sinaloa cartel gunmen fought soldiers with rifles and grenades in the streets of Culiacan."),
    ("Port-au-Prince", "Gangs torch police headquarters in Port-au-Prince", "Armed gangs attacked and burned a police headquarters in downtown Port-au-Prince."),
    ("Peshawar", "Suicide bomber targets police in Peshawar", "A suicide bomber blew himself up among police officers at a mosque in Peshawar."),
    ("Srinagar", "Militants and troops exchange fire in Srinagar", "Security forces and militants traded gunfire for hours in an old quarter of Srinagar."),
    ("Pemba", "Insurgents behead villagers near Pemba", "Islamist insurgents attacked villages north of Pemba, killing residents with machetes."),
    ("Bamenda", "Separatists ambush army truck in Bamenda", "Anglophone separatist fighters ambushed a military truck in Bamenda, killing soldiers."),
    ("Marawi", "Army launches air strikes on militants near Marawi", "Philippine military aircraft bombed militant hideouts in hills outside Marawi City."),
    ("Mandera", "Al-Shabaab fighters attack police camp in Mandera", "Al-Shabaab militants stormed a police camp in Mandera county near the Somali border."),
    ("Belgorod", "Drones and shells hit Belgorod region", "Ukrainian drones and artillery shells struck the Belgorod region, its Russian governor said."),
]
PLACES = [title for _, title, _ in REPORTS]


def _report(index: int, outlet: int) -> dict:
    _, title, body = REPORTS[index]
    return item(title, body, f"https://outlet{outlet}.example/{index}")


def _place(text: str) -> str:
    """Which report a message is about (its headline names the place)."""
    return next((title for place, title, _ in REPORTS if title in " ".join(text.split())), f"?: {text[:120]}")


def _quiet(feed: int) -> list[dict]:
    return [item(SPORT_TITLE, SPORT_TEXT, f"https://sport.example/{feed}"),
            item(BUSINESS_TITLE, BUSINESS_TEXT, f"https://business.example/{feed}")]


def _publish(feed_server, reports: range) -> None:
    """Report k goes into feeds k and k + 150, from two outlets."""
    for k in reports:
        for feed, outlet in ((k, 1), (k + FEEDS // 2, 2)):
            feed_server.set(f"/f{feed}.xml", rss([_report(k, outlet), *_quiet(feed)]))


def _start(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "--config", str(config), "run"],
                            stdout=subprocess.DEVNULL, stderr=log.open("w"), env={**os.environ})


def _wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


def test_three_daemons_one_killed_alert_every_report_exactly_once(postgres_url, feed_server, tmp_path,
                                                                  monkeypatch, write_config):
    slack, smtp = SlackServer(), SmtpServer()
    monkeypatch.setenv("CFW_MD_SLACK_TOKEN", TOKEN)
    for feed in range(FEEDS):
        feed_server.set(f"/f{feed}.xml", rss(_quiet(feed)))
    _publish(feed_server, range(0, 15))
    config = write_config(
        [{"name": f"f{i}", "url": feed_server.url(f"/f{i}.xml"), "every": f"{EVERY:g}s"} for i in range(FEEDS)],
        database=postgres_url,
        fetch={"connect_timeout": 2, "read_timeout": 2, "total_timeout": 5, "concurrency": 4},
        notifiers=[{"name": "ops", "type": "slack", "channel": "#ceasefire", "token_env": "CFW_MD_SLACK_TOKEN",
                    "base_url": slack.api_url, "interval": 0},
                   {"name": "desk", "type": "email", "host": "127.0.0.1", "port": smtp.port, "starttls": False,
                    "from": "alerts@example.org", "to": ["desk@example.org"]}],
        delivery={"backoff": "1s"})
    daemons = [_start(config, tmp_path / f"daemon{i}.log") for i in range(3)]
    try:
        assert _wait(lambda: len(slack.messages) >= 5, 90), "no alerts from the first reports"
        daemons[0].send_signal(signal.SIGKILL)  # mid-run: polls and sends in flight
        killed_at = time.monotonic()
        daemons[0].wait(10)
        _publish(feed_server, range(15, 30))
        status = subprocess.run([sys.executable, "-m", "pipeline.cli", "--config", str(config), "status"],
                                capture_output=True, text=True, timeout=60)
        _wait(lambda: len(slack.messages) >= 30 and len(smtp.received) >= 30, 90)
        # Run past a whole lease period after the kill, so the dead daemon's feeds must
        # have been taken over, and leave time for any duplicate to show up.
        time.sleep(max(0.0, killed_at + 45 - time.monotonic()))
        stopped_at = time.monotonic()
        for proc in daemons[1:]:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(60) for proc in daemons[1:]]
    finally:
        for proc in daemons:
            if proc.poll() is None:
                proc.kill()
        slack.close()
        smtp.close()
    logs = "\n".join((tmp_path / f"daemon{i}.log").read_text() for i in range(3))
    assert codes == [0, 0], logs[-3000:]

    titles = Counter(m.text.split("\n")[0] for m in slack.messages)
    cities = Counter(_place(m.text) for m in slack.messages)
    assert sorted(cities) == sorted(PLACES), titles
    assert set(cities.values()) == {1}, cities  # exactly once each at Slack
    bodies = [r.message().get_body(preferencelist=("plain",)).get_content() for r in smtp.received]
    mail_cities = Counter(_place(body) for body in bodies)
    assert sorted(mail_cities) == sorted(PLACES) and set(mail_cities.values()) == {1}, mail_cities

    engine = create_engine(postgres_url)
    try:
        with engine.connect() as db:
            states = dict(db.execute(text("select status, count(*) from deliveries group by status")).all())
            incidents = db.execute(text("select count(*) from incidents")).scalar()
            fleet = db.execute(text("select count(*), count(stopped_at) from daemons where role = 'run'")).one()
    finally:
        engine.dispose()
    assert states == {"sent": 60}, states  # nothing pending, sending or failed
    assert incidents == 30
    assert tuple(fleet) == (3, 2)  # the killed daemon never recorded a stop
    fleet_lines = [line for line in status.stdout.splitlines() if " run " in line]
    assert sorted(line.split()[2] for line in fleet_lines) == ["dead", "running", "running"], status.stdout
    assert "lag:" in status.stdout

    # On schedule: every feed polled every EVERY seconds (jittered 10%), a gap as long
    # as one lease period (30 s) allowed only for feeds the killed daemon was polling;
    # a few polls a little late while two daemons take over the work of three.
    gaps: list[float] = []
    for feed in range(FEEDS):
        times = sorted(r.at for r in feed_server.hits(f"/f{feed}.xml") if r.at <= stopped_at)
        assert times and times[-1] >= stopped_at - EVERY * 1.1 - 3, f"f{feed} not polled in the last round"
        feed_gaps = [b - a for a, b in zip(times, times[1:])]
        assert max(feed_gaps) <= EVERY * 1.1 + 30 + 3, (feed, feed_gaps)
        gaps += feed_gaps
    late = [g for g in gaps if g > EVERY * 1.1 + 5]
    assert len(late) <= len(gaps) * 0.02, (len(late), len(gaps), sorted(late)[-10:])
    assert sum(g > EVERY * 1.1 + 2 for g in gaps) <= len(gaps) * 0.05
    assert abs(statistics.median(gaps) - EVERY) < 1.0, statistics.median(gaps)
