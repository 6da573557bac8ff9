// Probes, from inside a function, what the sandbox lets it see and do.
const fs = require("fs");
const os = require("os");
const { spawn, spawnSync } = require("child_process");

const tryDo = (f) => {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    return { ok: false, code: e.code || e.name };
  }
};

exports.handler = async (event) => {
  switch (event.mode) {
    case "look":
      return {
        pids: fs.readdirSync("/proc").filter((x) => /^\d+$/.test(x)),
        uid: process.getuid(),
        taskRoot: process.env.LAMBDA_TASK_ROOT,
        cwd: process.cwd(),
        readOther: tryDo(() => fs.readdirSync(event.other)),
        readData: tryDo(() => fs.readdirSync(event.data)),
        readHidden: tryDo(() => fs.readdirSync("/var/task/.cloudlet")),
        writeCode: tryDo(() => fs.writeFileSync("/var/task/handler.js", "hacked")),
        writeTmp: tryDo(() => fs.writeFileSync("/tmp/" + event.marker, "x")),
        tmp: fs.readdirSync("/tmp"),
        shadow: tryDo(() => fs.readFileSync("/etc/shadow", "utf8").length),
        nofile: spawnSync("/bin/sh", ["-c", "ulimit -n"]).stdout.toString().trim(),
        functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
        uidMap: tryDo(() => fs.readFileSync("/proc/self/uid_map", "utf8").trim().split(/\s+/)),
        writeRoot: tryDo(() => fs.writeFileSync("/x", "x")),
        writeEtc: tryDo(() => fs.writeFileSync("/etc/x", "x")),
        writeDev: tryDo(() => fs.writeFileSync("/dev/x", "x")),
        writeDevNull: tryDo(() => fs.writeFileSync("/dev/null", "x")),
        // Writes back what it read: harmless if the sandbox failed.
        writeSysctl: tryDo(() => fs.writeFileSync("/proc/sys/vm/swappiness", fs.readFileSync("/proc/sys/vm/swappiness"))),
        readProtected: tryDo(() => fs.readFileSync("/var/task/protected", "utf8")),
        mountinfo: fs.readFileSync("/proc/self/mountinfo", "utf8"),
        homedir: tryDo(() => os.homedir()),
        user: tryDo(() => os.userInfo().username),
        stemVar: process.env.CLOUDLET_STEM || "",
      };
    case "memory": {
      const keep = [];
      for (;;) keep.push(Buffer.alloc(16 << 20, 1));
    }
    case "forks": {
      const kids = [];
      let failed = 0;
      for (let i = 0; i < event.n; i++) {
        const r = tryDo(() => {
          const c = spawn("/bin/sleep", ["30"]);
          c.on("error", () => failed++);
          kids.push(c);
        });
        if (!r.ok) failed++;
      }
      await new Promise((r) => setTimeout(r, 200));
      kids.forEach((k) => k.kill("SIGKILL"));
      return { failed };
    }
    case "fill": {
      const chunk = Buffer.alloc(1 << 20, 1);
      let written = 0;
      const r = tryDo(() => {
        for (let i = 0; i < event.mb; i++) {
          fs.appendFileSync("/tmp/fill", chunk);
          written++;
        }
      });
      return { written, code: r.code || null };
    }
    case "orphan":
      spawn("/bin/sleep", [event.marker], { detached: true, stdio: "ignore" }).unref();
      await new Promise(() => setInterval(() => {}, 1000)); // hang until the timeout
    default:
      return { ok: true };
  }
};
