/** The Deskside mark: a speech bubble with a check, on the accent colour. */
export function LogoMark({ size = 24 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden focusable="false">
      <defs>
        <linearGradient id="deskside-mark" x1="0" y1="0" x2="1" y2="1">
          <stop offset="0" stopColor="#7474ee" />
          <stop offset="1" stopColor="#4a4ac4" />
        </linearGradient>
      </defs>
      <rect width="32" height="32" rx="8" fill="url(#deskside-mark)" />
      <path
        d="M9 10.5A2.5 2.5 0 0 1 11.5 8h9A2.5 2.5 0 0 1 23 10.5v7a2.5 2.5 0 0 1-2.5 2.5H15l-4 3.5V20h0.5A2.5 2.5 0 0 1 9 17.5z"
        fill="#fff"
      />
      <path d="m12.8 13.9 2.2 2.2 4.2-4.4" fill="none" stroke="#4a4ac4" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
