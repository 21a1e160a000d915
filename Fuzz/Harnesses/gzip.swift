// Gzip: `GzipInflater` fed compressed chunks of 1 byte to 4 KiB, output chunks of 1 to 64 KiB,
// under limits small enough that a bomb is reached with a short input: 256 KiB of output, 100:1
// after the first 32 KiB. The first input byte picks the chunk sizes. Output chunks must respect
// their size, the output must stop within one chunk of the limit, a failed inflater must stay
// failed, and what inflates (up to 64 KiB) must compress and inflate back to the same bytes.
import Gzip

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGzip(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (settings, file) = settingsAndFile(bytes(data, size))
    let limits = GzipLimits(maxOutputBytes: 256 << 10, maxExpansionRatio: 100, ratioCheckAfterBytes: 32 << 10)
    let outputChunkSize = settings & 0x80 != 0 ? 1 + Int(settings >> 4 & 0x07) : 64 << 10
    let inflater: GzipInflater
    do {
        inflater = try GzipInflater(limits: limits, outputChunkSize: outputChunkSize)
    } catch {
        fatalError("zlib could not start: \(error)")
    }
    var output: [UInt8] = []
    var failure: GzipError?
    feeding: for chunk in chunks(file, size: chunkSize(settings)) {
        inflater.push(chunk)
        while true {
            do {
                guard let produced = try inflater.next() else { break }
                invariant(!produced.isEmpty && produced.count <= outputChunkSize, "an output chunk of \(produced.count) bytes")
                output += produced
            } catch {
                failure = error
                break feeding
            }
        }
    }
    if failure == nil {
        do { try inflater.finish() } catch { failure = error }
    }
    // A call that fails drops the chunk it was filling: at most one chunk is counted but not delivered.
    let undelivered = inflater.totalOut - Int64(output.count)
    invariant(
        failure == nil ? undelivered == 0 : undelivered >= 0 && undelivered <= Int64(outputChunkSize),
        "totalOut \(inflater.totalOut), \(output.count) bytes delivered")
    invariant(inflater.totalIn <= Int64(file.count), "totalIn \(inflater.totalIn) of \(file.count) bytes")
    invariant(
        Int64(output.count) <= limits.maxOutputBytes + Int64(outputChunkSize),
        "\(output.count) bytes out, past the limit by more than a chunk")
    if let failure {
        invariant(!failure.detail.isEmpty, "an error without a detail")
        do {
            _ = try inflater.next()
            fatalError("invariant broken: a failed inflater went on")
        } catch {
            invariant(error == failure, "a failed inflater changed its error: \(error) after \(failure)")
        }
        return 0
    }
    guard output.count <= 64 << 10 else { return 0 }
    do {
        let again = try Gzip.decompress(try Gzip.compress(output), limits: .unlimited)
        invariant(again == output, "deflate and inflate do not give the bytes back")
    } catch {
        fatalError("invariant broken: our own gzip does not inflate: \(error)")
    }
    return 0
}
