import CCurl
import Primitives

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `curl_global_init`, run once per process the first time a transport is made (Swift initialises
/// globals exactly once, under a lock).
private let curlGlobalInitResult: CURLcode = curl_global_init(ccurl_global_default)

/// The thread that owns the multi handle and every easy handle. Swift tasks talk to it only through
/// `enqueue`, which appends to a locked queue and wakes `curl_multi_poll`; everything else here runs
/// on the engine thread.
final class CurlEngine: @unchecked Sendable {
    enum Command {
        case add(CurlTransfer)
        case resumeReceiving(CurlTransfer)
        case resumeSending(CurlTransfer)
        case cancel(CurlTransfer)
        case shutdown
    }

    let configuration: CurlTransport.Configuration

    // Set in init, freed by the engine thread when it stops (after which `stopped` is true and no
    // one calls curl_multi_wakeup any more).
    private let multi: UnsafeMutableRawPointer
    private let share: UnsafeMutableRawPointer
    private var thread = pthread_t()

    // Guarded by `queueLock`.
    private let queueLock = Lock()
    private var commands: [Command] = []
    private var stopped = false
    private var joined = false

    // Engine thread only.
    private var active: [ObjectIdentifier: CurlTransfer] = [:]
    private var idleHandles: [UnsafeMutableRawPointer] = []

    init(configuration: CurlTransport.Configuration) throws(HTTPError) {
        self.configuration = configuration
        guard curlGlobalInitResult == CURLE_OK else {
            throw HTTPError(.other, url: "", detail: "curl_global_init failed (\(curlGlobalInitResult.rawValue))")
        }
        guard let multi = curl_multi_init() else { throw HTTPError(.other, url: "", detail: "curl_multi_init failed") }
        guard let share = curl_share_init() else {
            curl_multi_cleanup(multi)
            throw HTTPError(.other, url: "", detail: "curl_share_init failed")
        }
        self.multi = multi
        self.share = share
        // The share is used only from the engine thread, so it needs no lock callbacks.
        _ = ccurl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_DNS.rawValue))
        _ = ccurl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_SSL_SESSION.rawValue))
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, configuration.maxCachedConnections)

        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(
            &thread, nil,
            { context in
                let engine = Unmanaged<CurlEngine>.fromOpaque(context!).takeRetainedValue()
                engine.run()
                return nil
            },
            context
        )
        guard status == 0 else {
            Unmanaged<CurlEngine>.fromOpaque(context).release()
            curl_share_cleanup(share)
            curl_multi_cleanup(multi)
            throw HTTPError(.other, url: "", detail: "cannot start the HTTP engine thread (\(status))")
        }
    }

    /// Queues `command` for the engine thread; `false` once the engine has stopped.
    @discardableResult
    func enqueue(_ command: Command) -> Bool {
        queueLock.withLock {
            guard !stopped else { return false }
            let wasEmpty = commands.isEmpty
            commands.append(command)
            // A non-empty queue means a wake-up is already pending and the engine has not yet taken
            // the queue, so it will see this command too.
            if wasEmpty { curl_multi_wakeup(multi) }
            return true
        }
    }

    /// Stops the thread and waits for it (unless called on the engine thread itself).
    func shutdown() {
        let mustJoin: Bool = queueLock.withLock {
            if !stopped {
                commands.append(.shutdown)
                curl_multi_wakeup(multi)
            }
            defer { joined = true }
            return !joined
        }
        guard mustJoin else { return }
        if pthread_equal(pthread_self(), thread) != 0 {
            pthread_detach(thread)
        } else {
            pthread_join(thread, nil)
        }
    }

    // MARK: The engine thread

    private func run() {
        var running: Int32 = 0
        var messagesLeft: Int32 = 0
        while true {
            let batch: [Command] = queueLock.withLock {
                defer { commands.removeAll(keepingCapacity: true) }
                return commands
            }
            var stopping = false
            for command in batch {
                switch command {
                case .add(let transfer): add(transfer)
                case .resumeReceiving(let transfer): resume(transfer, receiving: true)
                case .resumeSending(let transfer): resume(transfer, receiving: false)
                case .cancel(let transfer):
                    if transfer.easy != nil { finish(transfer, error: transfer.cancellationError) }
                case .shutdown: stopping = true
                }
            }
            if stopping { break }

            curl_multi_perform(multi, &running)
            while let message = curl_multi_info_read(multi, &messagesLeft) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let code = message.pointee.data.result
                var pointer: UnsafeMutableRawPointer?
                _ = ccurl_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &pointer)
                guard let pointer else { continue }
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(pointer).takeUnretainedValue()
                finish(transfer, error: code == CURLE_OK ? nil : transfer.error(for: code))
            }
            // Waits for socket activity, libcurl's own timers, or a wake-up from `enqueue`.
            curl_multi_poll(multi, nil, 0, 5_000, nil)
        }
        tearDown()
    }

    private func add(_ transfer: CurlTransfer) {
        var recycled = idleHandles.popLast()
        var failure: HTTPError?
        repeat {
            guard let easy = recycled ?? curl_easy_init() else {
                transfer.complete(with: HTTPError(.other, url: transfer.url, detail: "curl_easy_init failed"))
                return
            }
            failure = transfer.configure(easy, share: share)
            if failure == nil {
                transfer.easy = easy
                break
            }
            // A recycled handle can refuse an option a fresh one takes (libcurl 7.88 will not
            // resize a receive buffer it still holds): try once more on a new handle.
            curl_easy_cleanup(easy)
            if recycled == nil {
                transfer.complete(with: failure)
                return
            }
            recycled = nil
        } while true
        guard let easy = transfer.easy else { return }
        active[ObjectIdentifier(transfer)] = transfer
        let status = curl_multi_add_handle(multi, easy)
        if status != CURLM_OK {
            let text = String(cString: curl_multi_strerror(status))
            finish(transfer, error: HTTPError(.other, url: transfer.url, detail: "curl_multi_add_handle: \(text)"))
        }
    }

    private func resume(_ transfer: CurlTransfer, receiving: Bool) {
        guard let easy = transfer.easy else { return }
        if receiving {
            guard transfer.receivePaused else { return }
            transfer.receivePaused = false
        } else {
            guard transfer.sendPaused else { return }
            transfer.sendPaused = false
        }
        // Flags first: unpausing may call the callbacks at once, and they may pause again.
        let mask = (transfer.receivePaused ? ccurl_pause_recv : 0) | (transfer.sendPaused ? ccurl_pause_send : 0)
        let code = curl_easy_pause(easy, mask)
        if code != CURLE_OK { finish(transfer, error: transfer.error(for: code)) }
    }

    /// Detaches the transfer from the multi handle, recycles its easy handle and tells its waiters.
    private func finish(_ transfer: CurlTransfer, error: HTTPError?) {
        guard let easy = transfer.easy else { return }
        curl_multi_remove_handle(multi, easy)
        transfer.detach()
        // Only a handle whose transfer ran its course is known to reset cleanly.
        if error == nil, idleHandles.count < configuration.maxIdleHandles {
            curl_easy_reset(easy)
            idleHandles.append(easy)
        } else {
            curl_easy_cleanup(easy)
        }
        active[ObjectIdentifier(transfer)] = nil
        transfer.complete(with: error)
    }

    private func tearDown() {
        let leftover: [Command] = queueLock.withLock {
            stopped = true
            defer { commands.removeAll() }
            return commands
        }
        let shutDownError = { (transfer: CurlTransfer) in
            HTTPError(.cancelled, url: transfer.url, detail: "the HTTP transport was shut down")
        }
        for case .add(let transfer) in leftover { transfer.complete(with: shutDownError(transfer)) }
        for transfer in Array(active.values) { finish(transfer, error: shutDownError(transfer)) }
        for easy in idleHandles { curl_easy_cleanup(easy) }
        idleHandles.removeAll()
        curl_multi_cleanup(multi)
        curl_share_cleanup(share)
    }
}
