import AWSClients
import Testing

@Suite("The lean bulk-answer scan")
struct OpenSearchBulkAnswerTests {
    static func item(_ status: Int, id: String) -> String {
        #"{"index":{"_index":"i","_id":"\#(id)","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"status":\#(status)}}"#
    }

    @Test("An all-2xx answer with errors:false is counted without the full parser")
    func counts() {
        let body = #"{"took":3,"errors":false,"items":["# + (0..<5).map { Self.item(201, id: "d\($0)") }.joined(separator: ",") + "]}"
        #expect(BulkAnswerScanner.successCount(Array(body.utf8)) == 5)
        #expect(BulkAnswerScanner.successCount(Array(#"{"took":0,"errors":false,"items":[]}"#.utf8)) == 0)
    }

    @Test("A filtered answer's items ({\"index\":{\"status\":201}}) are counted, beside full items and any action name")
    func countsFilteredItems() {
        let lean = (0..<4).map { _ in #"{"index":{"status":201}}"# } + [#"{"create":{"status":200}}"#, Self.item(200, id: "x")]
        let body = #"{"errors":false,"items":["# + lean.joined(separator: ",") + "]}"
        #expect(BulkAnswerScanner.successCount(Array(body.utf8)) == 6)
    }

    @Test(
        "A filtered item that is not 2xx, not of that exact shape or cut short is read by the general scan, which refuses it",
        arguments: [
            #"{"errors":false,"items":[{"index":{"status":429}}]}"#,
            #"{"errors":false,"items":[{"index":{"status":2011}}]}"#,
            #"{"errors":false,"items":[{"index":{"status":20}}]}"#,
            #"{"errors":false,"items":[{"index":{"status":201}"#,
        ])
    func refusesOddFilteredItems(body: String) {
        #expect(BulkAnswerScanner.successCount(Array(body.utf8)) == nil)
    }

    @Test(
        "Errors, a non-2xx item, items before errors or malformed text fall back to the full parser",
        arguments: [
            #"{"took":3,"errors":true,"items":[{"index":{"_id":"a","status":400,"error":{"type":"x"}}}]}"#,
            #"{"took":3,"errors":false,"items":[{"index":{"_id":"a","status":429}}]}"#,
            #"{"items":[{"index":{"_id":"a","status":201}}],"errors":false}"#,
            #"{"took":3,"errors":false,"items":[{"index":{"_id":"a","status":201}}"#,
            "not json",
        ])
    func fallsBack(body: String) {
        #expect(BulkAnswerScanner.successCount(Array(body.utf8)) == nil)
    }
}
