//! A link that can go dark: a TCP proxy the test turns off without closing a connection, as a
//! network that stops passing packets does. What waits on the other side then waits in vain.

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP proxy to `target` that forwards while `open` says so; once it does not, it holds every
/// connection, old and new, without passing a byte, as a link that went dark. When the link
/// comes back those connections close, as a router's would have timed them out.
pub async fn proxy(target: String, open: watch::Receiver<bool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let (target, mut open) = (target.clone(), open.clone());
            tokio::spawn(async move {
                let dark = async |open: &mut watch::Receiver<bool>| {
                    let _ = open.wait_for(|open| !*open).await;
                };
                if !*open.borrow() {
                    let _ = open.wait_for(|open| *open).await;
                    return;
                }
                let Ok(mut server) = TcpStream::connect(&target).await else {
                    let _ = client.shutdown().await;
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    () = dark(&mut open) => {
                        let _ = open.wait_for(|open| *open).await;
                    }
                }
            });
        }
    });
    address
}
