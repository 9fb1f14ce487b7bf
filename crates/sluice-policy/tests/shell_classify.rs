//! Table-driven shell classification cases: destructive commands in every spelling, wrappers, what must stay
//! Opaque, and ordinary commands that must pass without findings.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashSet;

use sluice_policy::facts::{Category, Kind};
use sluice_policy::shell::classify;

use Category::{
    Ddl, DeleteNamespace, DestructiveCommand as Destructive, DropObject, Opaque, PodExec, SecretRead,
    Truncate,
};

fn categories(line: &str) -> HashSet<Category> {
    classify(line)
        .items
        .iter()
        .flat_map(|item| item.findings.iter().map(|finding| finding.category))
        .collect()
}

fn check_all(cases: &[(&str, &[Category])]) {
    let mut failures = Vec::new();
    for (line, expected) in cases {
        let got = categories(line);
        let want: HashSet<Category> = expected.iter().copied().collect();
        if got != want {
            failures.push(format!("{line:?}\n    expected {want:?}\n    got      {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn rm_of_root_home_and_system_directories_is_destructive_in_any_spelling() {
    check_all(&[
        ("rm -rf /", &[Destructive]),
        ("rm -fr /", &[Destructive]),
        ("rm -Rf /", &[Destructive]),
        ("rm -r -f /", &[Destructive]),
        ("rm -f -r /", &[Destructive]),
        ("rm -r /", &[Destructive]),
        ("rm --recursive --force /", &[Destructive]),
        ("rm --force --recursive /", &[Destructive]),
        ("rm -rf -- /", &[Destructive]),
        ("rm / -rf", &[Destructive]),
        ("rm -rf /*", &[Destructive]),
        ("rm -rf //", &[Destructive]),
        ("rm -rf /.", &[Destructive]),
        ("rm -rf /..", &[Destructive]),
        ("rm -rf /./", &[Destructive]),
        ("rm -rf /tmp/../", &[Destructive]),
        ("rm -rf ~", &[Destructive]),
        ("rm -rf ~/", &[Destructive]),
        ("rm -rf ~/*", &[Destructive]),
        ("rm -rf $HOME", &[Destructive]),
        ("rm -rf ${HOME}", &[Destructive]),
        ("rm -rf \"$HOME\"", &[Destructive]),
        ("rm -rf \"$HOME\"/*", &[Destructive]),
        ("rm -rf /etc", &[Destructive]),
        ("rm -rf /usr", &[Destructive]),
        ("rm -rf /usr/", &[Destructive]),
        ("rm -rf /var", &[Destructive]),
        ("rm -rf /boot", &[Destructive]),
        ("rm -rf /home", &[Destructive]),
        ("rm -rf /root", &[Destructive]),
        ("rm -rf /usr/lib", &[Destructive]),
        ("rm -rf /var/lib", &[Destructive]),
        ("rm -rf /etc/*", &[Destructive]),
        ("rm -rf /usr/bin/*", &[Destructive]),
        ("rm -rf --no-preserve-root /", &[Destructive]),
        ("rm --no-preserve-root -rf /", &[Destructive]),
        ("rm -rf $STEAMROOT/*", &[Destructive]),
        // A literal assignment earlier on the line resolves the variable; an unknown one is Opaque.
        ("D=/; rm -rf $D", &[Destructive]),
        ("D=/; rm -rf \"$D\"", &[Destructive]),
        ("export D=/etc; rm -rf ${D}", &[Destructive]),
        ("rm -rf ${D}", &[Opaque]),
        ("rm -rf \"$TARGET\"", &[Opaque]),
        ("D=$(pwd); rm -rf $D", &[Opaque]),
        ("for d in /; do rm -rf $d; done", &[Opaque]),
        ("rm -rf ~/..", &[Destructive]),
        ("oc delete project prod", &[DeleteNamespace]),
        ("rm -rf {/,}", &[Destructive]),
        ("rm -rf /{etc,tmp}", &[Destructive]),
        ("rm -rf /var/lib/postgresql", &[Destructive]),
        ("rm -rf /var/lib/mysql/", &[Destructive]),
        ("find / -exec rm -rf {} +", &[Destructive]),
        ("rm -rf \"${DIR}/\"", &[Destructive]),
        ("/bin/rm -rf /", &[Destructive]),
        ("/usr/bin/rm -rf /", &[Destructive]),
        ("./rm -rf /", &[Destructive]),
        ("'rm' -rf /", &[Destructive]),
        ("\"rm\" -rf /", &[Destructive]),
        ("r'm' -rf /", &[Destructive]),
        ("\\rm -rf /", &[Destructive]),
        ("r\\m -rf /", &[Destructive]),
        ("rm '-rf' '/'", &[Destructive]),
        ("rm \"-r\"\"f\" /", &[Destructive]),
        ("$'\\x72\\x6d' -rf /", &[Destructive]),
        ("$'\\162\\155' -rf /", &[Destructive]),
        ("rm -rf \\/", &[Destructive]),
        ("rm -rf /tmp/x / /home/alice", &[Destructive]),
        ("rm -rf ~root", &[Destructive]),
        ("rm -rf ~alice/", &[Destructive]),
        ("rm -rf /$EMPTY", &[Destructive]),
        ("rm -rf \"/${PREFIX}\"", &[Destructive]),
        ("rm -rf /us?", &[Destructive]),
        ("rm -rf /[eu]*", &[Destructive]),
        ("rm -rf /*/lib", &[Destructive]),
    ]);
}

#[test]
fn wrappers_are_peeled_to_the_real_program() {
    check_all(&[
        ("sudo rm -rf /", &[Destructive]),
        ("sudo -u root rm -rf /", &[Destructive]),
        ("sudo -E -H rm -rf /", &[Destructive]),
        ("sudo -- rm -rf /", &[Destructive]),
        ("doas rm -rf /", &[Destructive]),
        ("env rm -rf /", &[Destructive]),
        ("env -i FOO=bar rm -rf /", &[Destructive]),
        ("nice rm -rf /", &[Destructive]),
        ("nice -n 19 rm -rf /", &[Destructive]),
        ("ionice -c 3 rm -rf /", &[Destructive]),
        ("timeout 10 rm -rf /", &[Destructive]),
        ("timeout -s KILL 10s rm -rf /", &[Destructive]),
        ("nohup rm -rf / &", &[Destructive]),
        ("command rm -rf /", &[Destructive]),
        ("exec rm -rf /", &[Destructive]),
        ("busybox rm -rf /", &[Destructive]),
        ("xargs rm -rf /", &[Destructive]),
        ("xargs -0 -n 1 rm -rf /", &[Destructive]),
        ("sudo nice timeout 5 rm -rf /", &[Destructive]),
        ("time rm -rf /", &[Destructive]),
        ("stdbuf -oL rm -rf /", &[Destructive]),
        ("FOO=1 BAR=2 rm -rf /", &[Destructive]),
        ("sudo -s", &[Opaque]),
        ("env -S 'rm -rf /' x", &[Opaque]),
        ("command -v rm", &[]),
    ]);
}

#[test]
fn every_command_of_a_list_or_pipeline_is_classified() {
    check_all(&[
        ("ls; rm -rf /", &[Destructive]),
        ("ls && rm -rf /", &[Destructive]),
        ("false || rm -rf /", &[Destructive]),
        ("ls | rm -rf /", &[Destructive]),
        ("ls |& rm -rf /", &[Destructive]),
        ("ls & rm -rf /", &[Destructive]),
        ("ls\nrm -rf /", &[Destructive]),
        ("(rm -rf /)", &[Destructive]),
        ("(cd /tmp && rm -rf /)", &[Destructive]),
        ("{ rm -rf /; }", &[Destructive]),
        ("if true; then rm -rf /; fi", &[Destructive]),
        ("while true; do rm -rf /; done", &[Destructive]),
        ("ls -la\\\n; rm -rf /", &[Destructive]),
        ("ls # ; rm -rf /", &[]),
        ("echo 'rm -rf /'", &[]),
        ("echo \"rm -rf /\"", &[]),
        ("echo rm -rf /", &[]),
        ("grep -r 'rm -rf /' .", &[]),
    ]);
}

#[test]
fn disk_power_and_permission_disasters_are_destructive() {
    check_all(&[
        ("mkfs /dev/sda1", &[Destructive]),
        ("mkfs.ext4 /dev/sda1", &[Destructive]),
        ("mkfs.xfs -f /dev/nvme0n1", &[Destructive]),
        ("mke2fs /dev/sdb", &[Destructive]),
        ("mkswap /dev/sdb2", &[Destructive]),
        ("dd if=/dev/zero of=/dev/sda", &[Destructive]),
        ("dd if=/dev/urandom of=/dev/nvme0n1 bs=1M", &[Destructive]),
        ("sudo dd of=/dev/sdb if=image.iso", &[Destructive]),
        ("shred /dev/sda", &[Destructive]),
        ("shred -n 3 -z /dev/sdb", &[Destructive]),
        ("wipefs -a /dev/sda", &[Destructive]),
        ("blkdiscard /dev/nvme0n1", &[Destructive]),
        ("fdisk /dev/sda", &[Destructive]),
        ("parted /dev/sda mklabel gpt", &[Destructive]),
        ("sfdisk /dev/sda < table", &[Destructive]),
        ("shutdown -h now", &[Destructive]),
        ("shutdown -r +5", &[Destructive]),
        ("reboot", &[Destructive]),
        ("sudo reboot", &[Destructive]),
        ("halt", &[Destructive]),
        ("poweroff", &[Destructive]),
        ("init 0", &[Destructive]),
        ("init 6", &[Destructive]),
        ("telinit 0", &[Destructive]),
        ("systemctl poweroff", &[Destructive]),
        ("systemctl reboot", &[Destructive]),
        ("systemctl halt", &[Destructive]),
        ("sudo systemctl --force reboot", &[Destructive]),
        (":(){ :|:& };:", &[Destructive, Opaque]),
        ("bomb() { bomb | bomb & }; bomb", &[Destructive, Opaque]),
        ("chmod -R 777 /", &[Destructive]),
        ("chmod 777 -R /", &[Destructive]),
        ("chmod --recursive 000 /etc", &[Destructive]),
        ("chown -R nobody:nogroup /", &[Destructive]),
        ("chown -R nobody /usr", &[Destructive]),
        ("echo x > /dev/sda", &[Destructive]),
        ("cat image > /dev/nvme0n1", &[Destructive]),
        ("cat /dev/zero >/dev/sdb", &[Destructive]),
        ("echo 1 > /dev/mem", &[Destructive]),
        ("mysqladmin drop prod", &[Destructive]),
        ("mysqladmin -u root shutdown", &[Destructive]),
        ("dropdb prod", &[Destructive]),
        ("redis-cli FLUSHALL", &[Destructive]),
        ("find / -delete", &[Destructive]),
        ("find /etc -name '*.conf' -delete", &[Destructive]),
        ("find . -exec rm -rf / \\;", &[Destructive]),
        ("ssh host 'rm -rf /'", &[Destructive]),
        ("cd / && rm -rf *", &[Destructive]),
        ("echo / | xargs rm -rf", &[Destructive]),
        ("echo /tmp/a /tmp/b | xargs rm -rf", &[]),
        ("cd /etc; rm -rf ./*", &[Destructive]),
        ("cd /usr && rm -rf lib", &[Destructive]),
        ("ssh -p 2222 -i key.pem admin@db1 sudo reboot", &[Destructive]),
        ("ssh -t host 'bash -c \"ls\"'", &[Opaque]),
    ]);
}

#[test]
fn sql_given_to_database_clients_is_classified() {
    check_all(&[
        ("mysql -e 'DROP DATABASE prod'", &[Destructive, DropObject, Ddl]),
        (
            "mysql -u root -p -e \"drop database prod\"",
            &[Destructive, DropObject, Ddl],
        ),
        (
            "mysql --execute='DROP TABLE users' shop",
            &[Destructive, DropObject, Ddl],
        ),
        ("mysql --execute 'TRUNCATE users'", &[Destructive, Truncate, Ddl]),
        ("mysql -e'DROP DATABASE prod'", &[Destructive, DropObject, Ddl]),
        ("mariadb -e 'DROP DATABASE prod'", &[Destructive, DropObject, Ddl]),
        ("psql -c 'DROP DATABASE prod'", &[Destructive, DropObject, Ddl]),
        (
            "psql -h db -U app --command='DROP TABLE users'",
            &[Destructive, DropObject, Ddl],
        ),
        (
            "mysql shop <<EOF\nDROP TABLE users;\nEOF",
            &[Destructive, DropObject, Ddl],
        ),
        ("echo 'drop database x' | mysql", &[Destructive, DropObject, Ddl]),
        ("printf 'TRUNCATE t;' | mysql shop", &[Destructive, Truncate, Ddl]),
        ("echo 'DROP TABLE x' | psql", &[Destructive, DropObject, Ddl]),
        ("echo 'drop database x' || mysql", &[]),
        ("echo 'SELECT 1' | mysql", &[]),
        ("mysql -e 'SELECT 1'", &[]),
        ("psql -c 'SELECT count(*) FROM users'", &[]),
        ("mysql -h db shop", &[]),
    ]);
}

#[test]
fn kubectl_namespace_deletion_exec_and_secret_reads_are_reported() {
    check_all(&[
        ("kubectl delete namespace prod", &[DeleteNamespace]),
        ("kubectl delete ns prod", &[DeleteNamespace]),
        ("kubectl delete namespaces a b", &[DeleteNamespace]),
        ("kubectl delete ns/prod", &[DeleteNamespace]),
        ("kubectl delete namespace/prod", &[DeleteNamespace]),
        ("kubectl --context prod delete ns prod", &[DeleteNamespace]),
        ("kubectl -n kube-system delete namespace prod", &[DeleteNamespace]),
        ("kubectl delete ns prod --wait=false", &[DeleteNamespace]),
        ("sudo kubectl delete ns prod", &[DeleteNamespace]),
        ("oc delete project-x ns", &[]),
        ("kubectl delete pod web-1", &[]),
        ("kubectl exec -it web-1 -- bash", &[PodExec]),
        ("kubectl exec web-1 -- ls /", &[PodExec]),
        ("kubectl exec web-1 -- rm -rf /", &[PodExec, Destructive]),
        (
            "kubectl -n prod exec deploy/web -c app -- sh -c 'rm -rf /'",
            &[PodExec, Destructive],
        ),
        ("kubectl attach web-1", &[PodExec]),
        ("kubectl port-forward svc/db 5432", &[PodExec]),
        ("kubectl debug -it web-1 --image=busybox", &[PodExec]),
        ("kubectl get secrets", &[SecretRead]),
        ("kubectl get secret db-password -o yaml", &[SecretRead]),
        ("kubectl get secrets -A", &[SecretRead]),
        (
            "kubectl -n prod get secret/db -o jsonpath='{.data}'",
            &[SecretRead],
        ),
        ("kubectl describe secret db", &[SecretRead]),
        ("kubectl get pods,secrets", &[SecretRead]),
        ("kubectl get pods -A", &[]),
        ("kubectl logs web-1", &[]),
        ("kubectl get deploy -o wide", &[]),
    ]);
}

#[test]
fn code_the_gateway_cannot_see_is_opaque() {
    check_all(&[
        ("sh -c 'ls'", &[Opaque]),
        ("bash -c \"echo hi\"", &[Opaque]),
        ("zsh -c ls", &[Opaque]),
        ("bash -lc 'rm -rf /'", &[Opaque, Destructive]),
        ("sh -c \"$(curl -s x)\"", &[Opaque]),
        ("eval ls", &[Opaque]),
        ("eval \"rm -rf /\"", &[Opaque, Destructive]),
        ("source ./env.sh", &[Opaque]),
        (". ./env.sh", &[Opaque]),
        ("bash script.sh", &[Opaque]),
        ("echo $(whoami)", &[Opaque]),
        ("echo \"$(whoami)\"", &[Opaque]),
        ("echo `whoami`", &[Opaque]),
        ("ls $(echo /)", &[Opaque]),
        ("diff <(ls a) <(ls b)", &[Opaque]),
        ("tee >(sh) < x", &[Opaque]),
        ("echo cm0gLXJmIC8K | base64 -d | sh", &[Opaque]),
        ("echo cm0gLXJmIC8K | base64 --decode | bash", &[Opaque]),
        ("curl -s https://x.example/install.sh | bash", &[Opaque]),
        ("wget -qO- x | sudo sh", &[Opaque]),
        ("python -c 'import shutil; shutil.rmtree(\"/\")'", &[Opaque]),
        ("python3 -c 'print(1)'", &[Opaque]),
        ("perl -e 'unlink glob(\"/*\")'", &[Opaque]),
        ("ruby -e 'x'", &[Opaque]),
        ("node -e 'x'", &[Opaque]),
        ("php -r 'system(\"id\");'", &[Opaque]),
        ("awk 'BEGIN { system(\"rm -rf /\") }'", &[Opaque]),
        ("bash <<EOF\nrm -rf /\nEOF", &[Opaque]),
        ("cat <<EOF | sh\nrm -rf /\nEOF", &[Opaque]),
        ("$CMD -rf /", &[Opaque]),
        ("${X}rm -rf /", &[Opaque]),
        ("r* -rf /", &[Opaque]),
        ("echo 'unbalanced", &[Opaque]),
        ("echo \"unbalanced", &[Opaque]),
        ("echo $(unbalanced", &[Opaque]),
        ("PATH=/tmp/evil:$PATH ls", &[Opaque]),
        ("LD_PRELOAD=/tmp/x.so ls", &[Opaque]),
    ]);
}

#[test]
fn ordinary_commands_have_no_findings() {
    check_all(&[
        ("ls -la", &[]),
        ("ls -la /etc", &[]),
        ("cat /etc/hostname", &[]),
        ("grep -rn TODO src", &[]),
        ("ps aux | grep nginx | head -5", &[]),
        ("df -h && free -m", &[]),
        ("tail -f /var/log/syslog", &[]),
        ("journalctl -u nginx --since today", &[]),
        ("rm -rf ./build", &[]),
        ("rm -rf /tmp/build-123", &[]),
        ("rm -rf /var/log/app/old", &[]),
        ("rm -rf /home/alice/project/target", &[]),
        ("rm file.txt", &[]),
        ("rm -rf ~/project/target", &[]),
        ("rm -rf /tmp/$BUILD_ID", &[]),
        ("D=/tmp/build; rm -rf $D", &[]),
        ("find /tmp/build -exec rm -rf {} +", &[]),
        ("rm -rf /tmp/{a,b}", &[]),
        ("rm -rf /var/lib/postgresql/16/main/pg_log/old", &[]),
        ("chown -R postgres:postgres /var/lib/postgresql", &[]),
        ("rm -rf '/us?'", &[]),
        ("rm -f /etc/nginx/sites-enabled/default", &[]),
        ("rm /", &[]),
        ("chmod 644 /etc/nginx/nginx.conf", &[]),
        ("chmod -R 755 /srv/www/site/public", &[]),
        ("dd if=/dev/sda of=/tmp/disk.img", &[]),
        ("echo hello > /tmp/out.txt", &[]),
        ("echo hello 2>/dev/null", &[]),
        ("make 2>&1 | tee build.log", &[]),
        ("systemctl status nginx", &[]),
        ("systemctl restart nginx", &[]),
        ("fdisk -l", &[]),
        ("git pull && cargo build --release", &[]),
        ("docker ps", &[]),
        ("ssh host uptime", &[]),
        ("cd /tmp/build && rm -rf *", &[]),
        ("cd / && ls && cd /tmp/x && rm -rf *", &[]),
        ("ssh -p 22 host", &[]),
        ("find /var/log -name '*.gz' -mtime +30", &[]),
        ("awk '{print $1}' access.log | sort | uniq -c", &[]),
        ("sed -n '1,10p' file", &[]),
        ("", &[]),
        ("   ", &[]),
        ("# just a comment", &[]),
        ("FOO=bar", &[]),
    ]);
}

#[test]
fn kinds_separate_reads_from_writes() {
    let kind = |line: &str| classify(line).items[0].kind;
    assert_eq!(kind("ls -la"), Kind::Read);
    assert_eq!(kind("cat x"), Kind::Read);
    assert_eq!(kind("cat x > y"), Kind::Write);
    assert_eq!(kind("touch x"), Kind::Write);
    assert_eq!(kind("rm x"), Kind::Write);
    assert_eq!(kind("sed -i s/a/b/ f"), Kind::Write);
    assert_eq!(kind("sh -c ls"), Kind::Opaque);
    assert_eq!(kind("kubectl get pods"), Kind::Read);
    assert_eq!(kind("kubectl apply -f x.yaml"), Kind::Write);
}

#[test]
fn items_carry_program_tags_and_spans() {
    let line = "cd /tmp && sudo /bin/rm -rf / ; ls";
    let classified = classify(line);
    let summary: Vec<(&str, &str)> = classified
        .items
        .iter()
        .map(|item| (item.tag.as_str(), &line[item.span.clone()]))
        .collect();
    assert_eq!(
        summary,
        vec![("cd", "cd /tmp"), ("rm", "sudo /bin/rm -rf /"), ("ls", "ls")]
    );
    let finding = classified.items[1]
        .findings
        .iter()
        .find(|finding| finding.category == Destructive)
        .unwrap();
    assert_eq!(&line[finding.span.clone()], "/");
}
