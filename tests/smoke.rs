mod common;
use common::*;

#[test]
fn ping_set_get() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
    assert_eq!(err(&mut c, &["GET"]), "ERR wrong number of arguments for 'get' command");
}
