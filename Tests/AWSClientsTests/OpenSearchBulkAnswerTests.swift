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
