export async function run(): Promise<number> {
  console.log('demo: coming with the limiter core');
  return 0;
}
