//! Permission denied, as std reports it: opening a read-only file for
//! writing, creating and removing in a read-only directory. Root passes
//! every permission check, so as root the test runs itself again as
//! `nobody` (uid and gid 65534) in a child process.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;

use support::{each_setup, scratch};

const AS_NOBODY: &str = "RENTIO_FS_TEST_AS_NOBODY";

#[test]
fn permission_denied_as_std() {
    if rustix::process::geteuid().is_root() && std::env::var_os(AS_NOBODY).is_none() {
        use std::os::unix::process::CommandExt;
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "permission_denied_as_std", "--nocapture"])
            .env(AS_NOBODY, "1")
            .uid(65534)
            .gid(65534)
            .status()
            .unwrap();
        assert!(status.success(), "the test as nobody failed: {status}");
        return;
    }
    each_setup(|setup| async move {
        let dir = scratch("perm");
        let ro = dir.join("read-only");
        std::fs::write(&ro, b"keep").unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
        let want = std::fs::OpenOptions::new()
            .write(true)
            .open(&ro)
            .unwrap_err();
        assert_eq!(want.kind(), ErrorKind::PermissionDenied);
        let got = rentio_fs::OpenOptions::new()
            .write(true)
            .open(&ro)
            .await
            .unwrap_err();
        assert_eq!(got.kind(), want.kind(), "{setup:?}: {got}");
        let got = rentio_fs::write(&ro, b"no".to_vec()).await.unwrap_err();
        assert_eq!(got.kind(), ErrorKind::PermissionDenied, "{setup:?}: {got}");

        let sealed = dir.join("sealed");
        std::fs::create_dir(&sealed).unwrap();
        std::fs::write(sealed.join("in"), b"x").unwrap();
        std::fs::set_permissions(&sealed, std::fs::Permissions::from_mode(0o555)).unwrap();
        for got in [
            rentio_fs::File::create(sealed.join("new"))
                .await
                .unwrap_err(),
            rentio_fs::remove_file(sealed.join("in")).await.unwrap_err(),
            rentio_fs::create_dir(sealed.join("sub")).await.unwrap_err(),
            rentio_fs::rename(sealed.join("in"), dir.join("out"))
                .await
                .unwrap_err(),
        ] {
            assert_eq!(got.kind(), ErrorKind::PermissionDenied, "{setup:?}: {got}");
        }
        assert_eq!(std::fs::read(&ro).unwrap(), b"keep");
        std::fs::set_permissions(&sealed, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    });
}
