import AWSSigV4
import Primitives
import Testing

@Suite("SHA-256 and HMAC-SHA256")
struct HashingTests {
    @Test("SHA-256 of known inputs (FIPS 180-2 examples)") func sha256Vectors() {
        #expect(SHA256.hash("").hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash("abc").hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").hex
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        )
        #expect(SHA256.emptyHash == SHA256.hash([UInt8]()))
    }

    @Test("Incremental hashing equals one-shot hashing, whatever the split") func incremental() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let expected = SHA256.hash(bytes)
        for split in [0, 1, 63, 64, 65, 500, 999, 1000] {
            var hash = SHA256()
            hash.update(bytes[..<split])
            let midway = hash.finalize()  // finalizing does not disturb the running hash
            hash.update(bytes[split...])
            #expect(hash.finalize() == expected, "split at \(split)")
            #expect(midway == SHA256.hash(bytes[..<split]))
        }
    }

    @Test("HMAC-SHA256 matches RFC 4231 test cases 1, 2, 6 and 7") func hmacVectors() {
        let case1 = HMACSHA256.authenticate(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8))
        #expect(case1.hex == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        let case2 = HMACSHA256.authenticate(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(case2.hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        let longKey = [UInt8](repeating: 0xaa, count: 131)
        let case6 = HMACSHA256.authenticate(
            key: longKey, message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)
        )
        #expect(case6.hex == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        let case7 = HMACSHA256Key(longKey).authenticate(
            "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
        )
        #expect(case7.hex == "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
    }

    @Test("A digest round-trips through hex and never prints anything but hex") func digestHex() {
        let digest = SHA256.hash("abc")
        #expect(SHA256Digest(hex: digest.hex) == digest)
        #expect(SHA256Digest(hex: "abc") == nil)
        #expect("\(digest)" == digest.hex)
        #expect(digest.bytes.count == 32)
    }

    @Test("PayloadSigning gives the canonical payload strings") func payloadStrings() {
        #expect(PayloadSigning.emptyBody.canonicalValue == SHA256.emptyHash.hex)
        #expect(PayloadSigning.hashing(Array("abc".utf8)) == .hash(SHA256.hash("abc").hex))
        #expect(PayloadSigning.unsigned.canonicalValue == "UNSIGNED-PAYLOAD")
        #expect(PayloadSigning.streaming.canonicalValue == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    }
}
