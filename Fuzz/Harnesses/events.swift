// SQS and S3 event JSON: the bytes as an SQS event (`SQSEvent`), each record's body and the bytes
// themselves as an S3 notification (`S3Notification`). Errors must carry a message; parsed
// events must have what the parsers promise (a message id, a bucket), and the event JSON must
// survive writing and parsing again.
import JSONCodec
import LambdaRuntime

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEvents(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    if let json = try? JSONParser.parse(input) { checkJSONRoundTrip(json) }
    do {
        let event = try SQSEvent(bytes: input)
        for record in event.records {
            invariant(!record.messageId.isEmpty, "a record without a message id")
            _ = (record.approximateReceiveCount, record.sentTimestamp, record.isFIFO)
            notification(record.body)
        }
    } catch {
        invariant(!error.message.isEmpty, "an event error without a message")
    }
    notification(String(decoding: input, as: UTF8.self))
    return 0
}

private func notification(_ body: String) {
    do {
        switch try S3Notification(body: body) {
        case .testEvent: break
        case .records(let records):
            invariant(!records.isEmpty, "an S3 notification with no records")
            for record in records {
                invariant(!record.bucketName.isEmpty, "an S3 record without a bucket")
                _ = record.isObjectCreated
            }
        }
    } catch {
        invariant(!error.message.isEmpty, "a notification error without a message")
    }
}
