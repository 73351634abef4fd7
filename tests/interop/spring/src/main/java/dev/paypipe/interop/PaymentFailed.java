package dev.paypipe.interop;

/** What a Spring listener with a default type (no __TypeId__ needed) reads from payment.failed. */
public record PaymentFailed(String paymentId, String orderId, String userId, long amount, String currency,
		String reason, String failedAt) {
}
