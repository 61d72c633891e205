declare namespace App {
  interface Locals {
    session?: string
  }
}
