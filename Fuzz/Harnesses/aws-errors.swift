// AWS error answers: header lines up to a blank line (through `ResponseHeadParser`), then the
// body, read by `AWSServiceError.from` (REST-XML, query-XML, JSON, OpenSearch and header codes);
// the body is also parsed as XML on its own. The first input byte picks the status (400 to 655).
// Every answer must give a non-empty code that the description names.
import AWSCore
import HTTPTransport
import XMLCodec

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAWSErrors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (settings, input) = settingsAndFile(bytes(data, size))
    var parser = ResponseHeadParser()
    var position = 0
    while position < input.count {
        let end = input[position...].firstIndex(of: 0x0A).map { $0 + 1 } ?? input.count
        let line = Array(input[position..<end])
        position = end
        if line.allSatisfy({ $0 == 0x0A || $0 == 0x0D }) { break }
        _ = line.withUnsafeBufferPointer { parser.consume($0) }
    }
    let body = Array(input[position...])
    let status = 400 + Int(settings)
    let error = AWSServiceError.from(status: status, headers: parser.headers, body: body)
    invariant(!error.code.isEmpty, "an error without a code")
    invariant(error.status == status, "status \(error.status), answered \(status)")
    invariant(error.description.contains(error.code), "the description does not name the code")
    if let root = try? XMLElement.parse(body) {
        invariant(!root.name.isEmpty, "an XML element without a name")
        _ = (root.descendant("Error"), root.childText("Code"), root.localName)
    }
    return 0
}
