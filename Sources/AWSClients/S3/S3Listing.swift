package import AWSCore
import HTTPTransport
import Primitives
import XMLCodec

extension S3Client {
    /// One page of ListObjectsV2. Keys are asked for URL-encoded (`encoding-type=url`, so that any
    /// key survives XML) and decoded here.
    ///
    /// - Parameters:
    ///   - maxKeys: at most this many keys and prefixes on the page (1 ... 1000).
    ///   - continuationToken: the previous page's `nextContinuationToken`.
    package func listObjectsV2(
        bucket: String, prefix: String? = nil, delimiter: String? = nil, maxKeys: Int? = nil,
        continuationToken: String? = nil, startAfter: String? = nil
    ) async throws(AWSError) -> S3ListPage {
        var query: [(String, String)] = [("list-type", "2"), ("encoding-type", "url")]
        if let prefix { query.append(("prefix", prefix)) }
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let maxKeys {
            guard (1...1000).contains(maxKeys) else { throw AWSError.invalidRequest("max-keys must be 1 to 1000 (got \(maxKeys))") }
            query.append(("max-keys", String(maxKeys)))
        }
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        if let startAfter { query.append(("start-after", startAfter)) }
        let response = try await client.send(request("GET", bucket: bucket, query: query))
        return try Self.parseListPage(response.body)
    }

    static func parseListPage(_ body: [UInt8]) throws(AWSError) -> S3ListPage {
        let root = try parseXML(body, "ListObjectsV2")
        let encoded = root.childText("EncodingType") == "url"
        func decode(_ text: String) throws(AWSError) -> String {
            guard encoded else { return text }
            guard let decoded = PercentEncoding.decode(text, plusIsSpace: true) else {
                throw AWSError.invalidResponse("S3 ListObjectsV2 answered with a badly encoded key '\(text)'")
            }
            return decoded
        }
        var objects: [S3ObjectSummary] = []
        for item in root.children("Contents") {
            guard let key = item.childText("Key"), let size = item.childText("Size").flatMap({ Int64($0) }) else {
                throw AWSError.invalidResponse("S3 ListObjectsV2 answered with an entry without Key or Size")
            }
            objects.append(
                S3ObjectSummary(
                    key: try decode(key), size: size, etag: item.childText("ETag"),
                    lastModified: item.childText("LastModified").flatMap { Timestamp(iso8601: $0) },
                    storageClass: item.childText("StorageClass")))
        }
        var prefixes: [String] = []
        for item in root.children("CommonPrefixes") {
            if let prefix = item.childText("Prefix") { prefixes.append(try decode(prefix)) }
        }
        let truncated = root.childText("IsTruncated") == "true"
        let token = root.childText("NextContinuationToken")
        if truncated, token == nil {
            throw AWSError.invalidResponse("S3 ListObjectsV2 said the listing is truncated but gave no continuation token")
        }
        return S3ListPage(
            objects: objects, commonPrefixes: prefixes, isTruncated: truncated, nextContinuationToken: truncated ? token : nil,
            keyCount: root.childText("KeyCount").flatMap { Int($0) } ?? objects.count + prefixes.count)
    }

    /// Every page of a listing, fetched one at a time as the sequence is iterated.
    package func listAllObjects(bucket: String, prefix: String? = nil, delimiter: String? = nil, pageSize: Int? = nil)
        -> S3ListPages
    {
        S3ListPages(client: self, bucket: bucket, prefix: prefix, delimiter: delimiter, pageSize: pageSize)
    }
}

/// The pages of a ListObjectsV2 listing as an asynchronous sequence: each `next()` fetches one page
/// with the previous page's continuation token, until a page is not truncated.
package struct S3ListPages: AsyncSequence, Sendable {
    package typealias Element = S3ListPage
    package typealias Failure = AWSError

    let client: S3Client
    let bucket: String
    let prefix: String?
    let delimiter: String?
    let pageSize: Int?

    package struct AsyncIterator: AsyncIteratorProtocol {
        let pages: S3ListPages
        var token: String?
        var done = false

        package mutating func next() async throws(AWSError) -> S3ListPage? {
            guard !done else { return nil }
            let page = try await pages.client.listObjectsV2(
                bucket: pages.bucket, prefix: pages.prefix, delimiter: pages.delimiter, maxKeys: pages.pageSize,
                continuationToken: token)
            token = page.nextContinuationToken
            done = !page.isTruncated
            return page
        }

        package mutating func next(isolation actor: isolated (any Actor)?) async throws(AWSError) -> S3ListPage? {
            try await next()
        }
    }

    package func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pages: self) }

    /// Every object of every page, in order.
    package func allObjects() async throws(AWSError) -> [S3ObjectSummary] {
        var objects: [S3ObjectSummary] = []
        var iterator = makeAsyncIterator()
        while let page = try await iterator.next() { objects += page.objects }
        return objects
    }
}
