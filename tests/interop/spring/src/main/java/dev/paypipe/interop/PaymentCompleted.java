package dev.paypipe.interop;

/** What a Spring listener of payment.completed deserializes our records into. */
public record PaymentCompleted(String paymentId, String orderId, String userId, long amount, String currency,
		String completedAt) {
}
